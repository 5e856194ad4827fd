package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/openeps/openeps/internal/spine"
	"github.com/openeps/openeps/internal/store/storeopen"
)

func init() {
	register(command{
		name:    "serve",
		summary: "run the Spine-side EPS service (ebXML in, HL7 V3 answers, JSON API)",
		run:     runServe,
	})
}

// serveFlags are the flags of `eps serve`.
type serveFlags struct {
	listen   string
	db       string
	now      string
	asid     string
	partyKey string
	logLevel string
	sweep    time.Duration
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	var f serveFlags
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&f.db, "db", "sqlite:eps.db", "store: sqlite:PATH or postgres://…")
	fs.StringVar(&f.now, "now", "", "fix the service's clock at this RFC 3339 time (for tests and replaying fixtures)")
	fs.StringVar(&f.asid, "asid", spine.DefaultASID, "the service's own ASID")
	fs.StringVar(&f.partyKey, "party-key", spine.DefaultPartyKey, "the service's own ebXML party key")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&f.sweep, "sweep-interval", time.Hour, "how often to apply the time-based rules (expiry, ready, no-claim, delete); 0 = never")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "eps serve: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	clock, err := fixedClock(f.now)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	st, err := storeopen.Open(ctx, f.db)
	if err != nil {
		return fmt.Errorf("open store %s: %w", f.db, err)
	}
	defer st.Close()
	svc, err := spine.New(spine.Config{Store: st, Now: clock, ASID: f.asid, PartyKey: f.partyKey, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if f.sweep > 0 {
		go svc.RunSweeper(ctx, f.sweep)
	}
	srv := spine.NewHTTPServer(f.listen, svc.Handler())
	// The address line is the contract with scripts and tests that start the
	// service on port 0: they read where it listens from here.
	fmt.Fprintf(stdout, "eps serve: listening on http://%s (store %s)\n", ln.Addr(), f.db)
	return serveUntilDone(ctx, srv, ln, log)
}

// serveUntilDone serves until ctx ends, then shuts down gracefully: in-flight
// messages finish (and commit) before the process exits.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// fixedClock parses --now; "" means the real clock.
func fixedClock(s string) (func() time.Time, error) {
	if s == "" {
		return time.Now, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, fmt.Errorf("--now %q: want an RFC 3339 time such as 2022-02-01T09:00:00Z: %w", s, err)
	}
	return func() time.Time { return t }, nil
}
