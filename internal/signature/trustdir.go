package signature

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// TrustDir is a trust directory that can be reloaded while in use, so that
// `eps serve --trust-dir D` picks up new CRLs (and anchors) without a
// restart. Store is cheap and lock-free; a reload that fails keeps the
// previous store.
//
//	td, err := signature.OpenTrustDir(dir)
//	go td.Watch(ctx, time.Minute, func(ts *signature.TrustStore, err error) { log… })
//	res := signature.Verify(msg, td.Store(), signature.VerifyOptions{Now: now})
type TrustDir struct {
	dir   string
	cur   atomic.Pointer[TrustStore]
	mu    sync.Mutex // serialises reloads
	stamp string
}

// OpenTrustDir loads dir (see LoadTrustDir).
func OpenTrustDir(dir string) (*TrustDir, error) {
	ts, stamp, err := loadTrustDir(dir)
	if err != nil {
		return nil, err
	}
	d := &TrustDir{dir: dir, stamp: stamp}
	d.cur.Store(ts)
	return d, nil
}

// Dir is the directory watched.
func (d *TrustDir) Dir() string { return d.dir }

// Store is the current trust store.
func (d *TrustDir) Store() *TrustStore { return d.cur.Load() }

// Reload reloads the directory if any file in roots/, intermediates/ or
// crls/ was added, removed or modified (size or modification time) since the
// last load. It reports whether a new store is in use. On error the previous
// store stays.
func (d *TrustDir) Reload() (changed bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	stamp, err := dirStamp(d.dir)
	if err != nil {
		return false, err
	}
	if stamp == d.stamp {
		return false, nil
	}
	ts, stamp, err := loadTrustDir(d.dir)
	if err != nil {
		return false, err
	}
	d.cur.Store(ts)
	d.stamp = stamp
	return true, nil
}

// Watch polls the directory every interval until ctx is done, reloading it
// when it changes. notify, if not nil, is called after every reload and
// every failed attempt (with the store still in use and the error).
func (d *TrustDir) Watch(ctx context.Context, interval time.Duration, notify func(*TrustStore, error)) {
	if interval <= 0 {
		interval = time.Minute
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			changed, err := d.Reload()
			if notify != nil && (changed || err != nil) {
				notify(d.Store(), err)
			}
		}
	}
}

// WatchTrustDir opens dir and watches it in a new goroutine until ctx is
// done (see TrustDir.Watch).
func WatchTrustDir(ctx context.Context, dir string, interval time.Duration, notify func(*TrustStore, error)) (*TrustDir, error) {
	d, err := OpenTrustDir(dir)
	if err != nil {
		return nil, err
	}
	go d.Watch(ctx, interval, notify)
	return d, nil
}
