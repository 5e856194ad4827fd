package main

import (
	"context"
	"fmt"
	"io"

	"github.com/openeps/openeps/internal/spine"
	"github.com/openeps/openeps/internal/store/storeopen"
)

func init() {
	register(command{
		name:    "admin",
		summary: "maintenance: `admin sweep` applies expiry, ready, no-claim and delete rules now",
		run:     runAdmin,
	})
}

func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "sweep" {
		fmt.Fprintln(stderr, "Usage: eps admin sweep [--db DSN] [--now RFC3339]")
		fmt.Fprintln(stderr, "Applies the time-based rules (ready, expire, createNoClaim, delete) to every record due.")
		return errUsage
	}
	fs := newFlagSet("admin sweep", stderr)
	db := fs.String("db", "sqlite:eps.db", "store: sqlite:PATH or postgres://…")
	now := fs.String("now", "", "sweep as at this RFC 3339 time (default: now)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	clock, err := fixedClock(*now)
	if err != nil {
		return err
	}
	st, err := storeopen.Open(ctx, *db)
	if err != nil {
		return fmt.Errorf("open store %s: %w", *db, err)
	}
	defer st.Close()
	svc, err := spine.New(spine.Config{Store: st, Now: clock})
	if err != nil {
		return err
	}
	res, err := svc.Sweep(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sweep at %s: %s\n", clock().UTC().Format("2006-01-02T15:04:05Z"), res)
	return nil
}
