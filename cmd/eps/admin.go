package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/openeps/openeps/internal/delivery"
	"github.com/openeps/openeps/internal/spine"
	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/storeopen"
)

func init() {
	register(command{
		name:    "admin",
		summary: "maintenance: sweep (expiry, ready, no-claim, delete now), outbox list|retry",
		run:     runAdmin,
	})
}

func adminUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage:")
	fmt.Fprintln(w, "  eps admin sweep [--db DSN] [--now RFC3339]   apply the time-based rules to every record due")
	fmt.Fprintln(w, "  eps admin outbox list [--db DSN] [--state pending|done|failed]")
	fmt.Fprintln(w, "  eps admin outbox retry [--db DSN] [ID...]     give failed deliveries (all, or these) fresh retries")
}

func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	switch {
	case len(args) >= 1 && args[0] == "sweep":
		return adminSweep(ctx, args[1:], stdout, stderr)
	case len(args) >= 2 && args[0] == "outbox" && args[1] == "list":
		return adminOutboxList(ctx, args[2:], stdout, stderr)
	case len(args) >= 2 && args[0] == "outbox" && args[1] == "retry":
		return adminOutboxRetry(ctx, args[2:], stdout, stderr)
	}
	adminUsage(stderr)
	return errUsage
}

// openStore opens the --db store of an admin command.
func openStore(ctx context.Context, dsn string) (store.Store, error) {
	st, err := storeopen.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dsn, err)
	}
	return st, nil
}

func adminSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("admin sweep", stderr)
	db := fs.String("db", "sqlite:eps.db", "store: sqlite:PATH or postgres://…")
	now := fs.String("now", "", "sweep as at this RFC 3339 time (default: now)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	clock, err := fixedClock(*now)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return err
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
	fmt.Fprintf(stdout, "sweep at %s: %s\n", clock().UTC().Format(time.RFC3339), res)
	return nil
}

func adminOutboxList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("admin outbox list", stderr)
	db := fs.String("db", "sqlite:eps.db", "store: sqlite:PATH or postgres://…")
	state := fs.String("state", "", "only items in this state: pending, done or failed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch store.OutboxState(*state) {
	case "", store.OutboxPending, store.OutboxDone, store.OutboxFailed:
	default:
		return fmt.Errorf("--state %q: want pending, done or failed", *state)
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	var items []store.OutboxItem
	if err := st.View(ctx, func(tx store.ReadTx) error {
		var err error
		items, err = tx.Outbox(ctx, store.OutboxState(*state), time.Time{}, 0)
		return err
	}); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tATTEMPTS\tDESTINATION\tINTERACTION\tNEXT ATTEMPT\tLAST ERROR")
	for _, it := range items {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", it.ID, it.State, it.Attempts, it.Destination, it.Interaction,
			it.NextAttemptAt.UTC().Format(time.RFC3339), it.LastError)
	}
	return tw.Flush()
}

func adminOutboxRetry(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("admin outbox retry", stderr)
	db := fs.String("db", "sqlite:eps.db", "store: sqlite:PATH or postgres://…")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := delivery.Requeue(ctx, st, time.Now(), fs.Args()...)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d failed deliveries requeued; a running eps serve sends them at its next pass\n", n)
	return nil
}
