// Package sqlite is the default store backend: one SQLite file, opened with
// the pure-Go driver modernc.org/sqlite, so `eps serve` needs nothing
// installed.
//
// Durability: the file is in WAL mode with synchronous=FULL. A message is
// acknowledged to its sender only after its transaction commits, and the
// sender then forgets it; with synchronous=NORMAL a commit in WAL mode can be
// lost on power failure or an OS crash (the database stays consistent but
// rolls back to an earlier state), which would lose acknowledged
// prescriptions. FULL syncs the WAL on every commit. Its cost is paid once
// per batch, not once per message, because writes go through group commit.
//
// Group commit: SQLite has one writer at a time, so the store has one writer
// goroutine on one connection. Concurrent Update calls queue up while the
// previous batch commits, and the writer runs the whole queue in one
// transaction, each function inside its own SAVEPOINT: a function that fails
// is rolled back to its savepoint and gets its error while the others commit.
// Readers (View) use a separate pool of read-only connections and see only
// committed data.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/internal/sqlkit"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a store.Store in one SQLite file.
type DB struct {
	path     string
	cfg      config
	writeDB  *sql.DB // one connection, owned by the writer goroutine
	writer   *writer
	readDB   *sql.DB
	mu       sync.RWMutex // guards closed against Update's send on reqs
	closed   bool
	reqs     chan *request
	loopDone chan struct{}
	batches  atomic.Int64
	updates  atomic.Int64
}

// Stats says how group commit is doing (for /metrics and tests).
type Stats struct {
	Batches int64 // transactions the writer has committed or tried
	Updates int64 // Update calls those carried
	Queued  int   // Update calls waiting for the next batch now
}

// Stats returns the writer's counters.
func (d *DB) Stats() Stats {
	return Stats{Batches: d.batches.Load(), Updates: d.updates.Load(), Queued: len(d.reqs)}
}

var _ store.Store = (*DB)(nil)

type config struct {
	maxBatch    int
	readers     int
	busyTimeout time.Duration
	maxAttempts int
}

// Option changes how Open sets the store up.
type Option func(*config)

// WithMaxBatch caps how many Update calls one transaction may carry
// (default 256). 1 turns group commit off: every Update is its own
// transaction with its own sync, which is what the benchmarks compare against.
func WithMaxBatch(n int) Option {
	return func(c *config) { c.maxBatch = max(1, n) }
}

// WithReaders sets the size of the read connection pool (default: the number
// of CPUs, at least 4).
func WithReaders(n int) Option {
	return func(c *config) { c.readers = max(1, n) }
}

// WithBusyTimeout sets how long a connection waits for a lock held by another
// process on the same file (default 10 s). Inside one process the writer
// never waits: it is the only one.
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) { c.busyTimeout = d }
}

// Open opens (creating if needed) the SQLite store at path and brings its
// schema up to date. The directory must exist.
func Open(ctx context.Context, path string, opts ...Option) (_ *DB, err error) {
	cfg := config{maxBatch: 256, readers: max(4, runtime.NumCPU()), busyTimeout: 10 * time.Second, maxAttempts: 10}
	for _, o := range opts {
		o(&cfg)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file::memory:") {
		return nil, fmt.Errorf("sqlite store: need a file path, not %q (the store keeps a writer and readers on separate connections; use a file in a temporary directory for throw-away data)", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	if fi, err := os.Stat(filepath.Dir(abs)); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("sqlite store %s: directory %s does not exist", path, filepath.Dir(abs))
	}
	// Prescriptions are patient data: a new file is readable by its owner
	// only. SQLite gives the -wal and -shm files the main file's mode.
	if f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	d := &DB{path: abs, cfg: cfg, reqs: make(chan *request, cfg.maxBatch), loopDone: make(chan struct{})}
	defer func() {
		if err != nil {
			d.closeDBs()
		}
	}()

	busy := fmt.Sprintf("busy_timeout(%d)", cfg.busyTimeout.Milliseconds())
	d.writeDB, err = sql.Open("sqlite", fileURI(abs, busy, "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"))
	if err != nil {
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	d.writeDB.SetMaxOpenConns(1)
	d.writeDB.SetMaxIdleConns(1)
	d.writeDB.SetConnMaxLifetime(0)
	d.writeDB.SetConnMaxIdleTime(0)
	var mode string
	if err := d.writeDB.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return nil, fmt.Errorf("sqlite store %s: open: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return nil, fmt.Errorf("sqlite store %s: the file system does not support WAL mode (journal_mode is %q)", path, mode)
	}
	if err := migrate(ctx, d.writeDB); err != nil {
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	conn, err := d.writeDB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite store %s: writer connection: %w", path, err)
	}
	d.writer = &writer{conn: conn, stmts: map[string]*sql.Stmt{}}

	d.readDB, err = sql.Open("sqlite", fileURI(abs, busy, "query_only(1)", "foreign_keys(1)"))
	if err != nil {
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	d.readDB.SetMaxOpenConns(cfg.readers)
	d.readDB.SetMaxIdleConns(cfg.readers)
	if err := d.readDB.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("sqlite store %s: reader connection: %w", path, err)
	}
	go d.writeLoop()
	return d, nil
}

// fileURI builds the driver's DSN: a file: URI (so that any character in the
// path is escaped rather than read as URI syntax) with one _pragma per
// setting, applied to every connection the pool opens.
func fileURI(abs string, pragmas ...string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	// Two processes opening a new file at once may both see it unmigrated;
	// the loser's migration fails and rolls back, and a second look finds
	// the schema in place.
	var last error
	for attempt := 1; attempt <= 3; attempt++ {
		p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
		if err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		if _, last = p.Up(ctx); last == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(sqlkit.Backoff(attempt, 20*time.Millisecond, 200*time.Millisecond))
	}
	if last != nil {
		return fmt.Errorf("migrations: %w", last)
	}
	return nil
}

// Path returns the absolute path of the database file.
func (d *DB) Path() string { return d.path }

// Ping reports whether both the readers and the writer answer.
func (d *DB) Ping(ctx context.Context) error {
	d.mu.RLock()
	closed := d.closed
	d.mu.RUnlock()
	if closed {
		return fmt.Errorf("sqlite store %s: %w", d.path, store.ErrClosed)
	}
	if err := d.readDB.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite store %s: ping: %w", d.path, err)
	}
	// An empty Update coming back proves the writer goroutine is alive and
	// can take the write lock.
	if err := d.Update(ctx, func(store.Tx) error { return nil }); err != nil {
		return fmt.Errorf("sqlite store %s: ping writer: %w", d.path, err)
	}
	return nil
}

// View runs fn in a read-only transaction on a reader connection: fn sees one
// consistent snapshot of committed data.
func (d *DB) View(ctx context.Context, fn func(tx store.ReadTx) error) error {
	d.mu.RLock()
	closed := d.closed
	d.mu.RUnlock()
	if closed {
		return fmt.Errorf("sqlite store %s: %w", d.path, store.ErrClosed)
	}
	tx, err := d.readDB.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite store: begin read: %w", err)
	}
	// Rollback of a read transaction only ends the snapshot.
	defer tx.Rollback() //nolint:errcheck
	rt := &readTx{q: tx}
	defer rt.finish()
	return fn(rt)
}

// Close waits for queued Updates to finish, then closes the file. It is safe
// to call more than once.
func (d *DB) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	close(d.reqs)
	d.mu.Unlock()
	<-d.loopDone
	return d.closeDBs()
}

func (d *DB) closeDBs() error {
	var errs []error
	if d.writer != nil {
		// Keep the query planner's statistics fresh for the next start.
		if _, err := d.writer.conn.ExecContext(context.Background(), "PRAGMA optimize"); err != nil {
			errs = append(errs, fmt.Errorf("optimize: %w", err))
		}
		errs = append(errs, d.writer.close())
	}
	if d.readDB != nil {
		errs = append(errs, d.readDB.Close())
	}
	if d.writeDB != nil {
		errs = append(errs, d.writeDB.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite store %s: close: %w", d.path, err)
	}
	return nil
}
