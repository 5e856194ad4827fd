package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/openeps/openeps/internal/signature"
)

// watchTrust opens a signature trust directory (roots/, intermediates/,
// crls/) and keeps it current, checking every interval for new
// certificates and CRLs; a failed reload keeps the previous material. It
// returns the lookup spine.Config.Trust and mhs.Config.Trust take.
func watchTrust(ctx context.Context, dir string, interval time.Duration, log *slog.Logger) (func() *signature.TrustStore, error) {
	td, err := signature.WatchTrustDir(ctx, dir, interval, func(ts *signature.TrustStore, err error) {
		if err != nil {
			log.Error("trust directory reload failed; keeping the previous material", "dir", dir, "err", err)
			return
		}
		log.Info("trust directory reloaded", "dir", dir, "material", ts.String())
	})
	if err != nil {
		return nil, fmt.Errorf("--trust-dir: %w", err)
	}
	return td.Store, nil
}
