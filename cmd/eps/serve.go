package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/openeps/openeps/internal/delivery"
	"github.com/openeps/openeps/internal/directory"
	"github.com/openeps/openeps/internal/spine"
	"github.com/openeps/openeps/internal/store/storeopen"
	"github.com/openeps/openeps/internal/tlsconf"
)

func init() {
	register(command{
		name:    "serve",
		summary: "run the Spine-side EPS service (ebXML in, HL7 V3 answers, outbox delivery, JSON API)",
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

	trustDir      string
	trustReload   time.Duration
	refuseBadSigs bool

	tls            tlsconf.Options
	knownOnly      bool
	syncWait       time.Duration
	receiptKeep    time.Duration
	delivery       bool
	deliveryPoll   time.Duration
	deliveryConc   int
	deliveryTime   time.Duration
	deliveryMaxBO  time.Duration
	deliveryTries  int
	directoryCache time.Duration
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

	// Transport security: TLS when a certificate is given, mutual TLS when
	// a client CA is (clients without a certificate from it are refused).
	fs.StringVar(&f.tls.CertFile, "tls-cert", "", "PEM certificate (chain) of this endpoint: serve HTTPS, and present it when delivering")
	fs.StringVar(&f.tls.KeyFile, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&f.tls.ClientCAFile, "client-ca", "", "PEM CA certificates: require every client to present a certificate they signed (mutual TLS)")
	fs.StringVar(&f.tls.RootCAFile, "peer-ca", "", "PEM CA certificates that sign the endpoints the outbox is delivered to (default: --client-ca, then the system's)")
	// Signatures: checked on receipt against the trust directory (roots,
	// intermediates, CRLs — an `eps ca init` directory is one), reloaded
	// when its files change.
	fs.StringVar(&f.trustDir, "trust-dir", "", "verify every prescription's signature on receipt against this trust directory (roots/, intermediates/, crls/) and record the verdict")
	fs.DurationVar(&f.trustReload, "trust-reload", time.Minute, "how often --trust-dir is checked for new certificates and CRLs")
	fs.BoolVar(&f.refuseBadSigs, "refuse-bad-signatures", false, "refuse a prescription whose signature fails (the Spine stores it and the dispenser returns it: off by default)")

	fs.BoolVar(&f.knownOnly, "known-senders-only", false, "refuse ebXML messages from parties not in the directory (`eps directory add`)")
	fs.DurationVar(&f.syncWait, "sync-wait", 25*time.Second, "how long POST /Prescription holds a request for its answer before answering 202 + Content-Location")
	fs.DurationVar(&f.receiptKeep, "receipt-retention", 7*24*time.Hour, "how long ebXML message IDs are remembered for duplicate elimination (and answers kept for polls)")
	fs.DurationVar(&f.directoryCache, "directory-cache", directory.DefaultTTL, "how long directory entries are cached (a lookup that misses reloads at once)")

	fs.BoolVar(&f.delivery, "delivery", true, "run the outbox delivery worker (async answers and notifications to the parties' endpoints)")
	fs.DurationVar(&f.deliveryPoll, "delivery-poll", time.Second, "how often the outbox is read when nothing new was queued")
	fs.IntVar(&f.deliveryConc, "delivery-concurrency", 4, "messages in flight at once")
	fs.DurationVar(&f.deliveryTime, "delivery-timeout", 30*time.Second, "time allowed for one delivery attempt, connection to acknowledgment")
	fs.DurationVar(&f.deliveryMaxBO, "delivery-max-backoff", 10*time.Minute, "longest wait between two attempts")
	fs.IntVar(&f.deliveryTries, "delivery-retries", -1, "retries after a failed attempt for every receiver (-1: each receiver's nhsMHSRetries from the directory)")
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
	log, err := newLogger(f.logLevel, stderr)
	if err != nil {
		return err
	}
	var serverTLS, clientTLS *tls.Config
	if f.tls.ServerEnabled() {
		if serverTLS, err = tlsconf.Server(f.tls); err != nil {
			return err
		}
	} else if f.tls.ClientCAFile != "" {
		return errors.New("--client-ca needs --tls-cert and --tls-key: mutual TLS is TLS")
	}
	if clientTLS, err = tlsconf.Client(f.tls); err != nil {
		return err
	}

	st, err := storeopen.Open(ctx, f.db)
	if err != nil {
		return fmt.Errorf("open store %s: %w", f.db, err)
	}
	defer st.Close()
	cfg := spine.Config{Store: st, Now: clock, ASID: f.asid, PartyKey: f.partyKey, Logger: log}
	if f.trustDir != "" {
		trust, err := watchTrust(ctx, f.trustDir, f.trustReload, log)
		if err != nil {
			return err
		}
		cfg.VerifySignatures, cfg.Trust, cfg.RefuseBadSignatures = true, trust, f.refuseBadSigs
	} else if f.refuseBadSigs {
		return errors.New("--refuse-bad-signatures needs --trust-dir")
	}
	svc, err := spine.New(cfg)
	if err != nil {
		return err
	}
	dir := directory.New(st, f.directoryCache)
	opts := spine.HTTPOptions{Directory: dir, KnownSendersOnly: f.knownOnly, SyncWait: f.syncWait}

	// The delivery worker stops after the HTTP server: the messages still
	// in flight when SIGTERM comes commit their answers to the outbox, and
	// what the worker has not sent is sent at the next start.
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorker()
	workerDone := make(chan struct{})
	if f.delivery {
		w, err := delivery.New(delivery.Config{
			Store: st, Directory: dir, PartyKey: f.partyKey, ServiceClock: clock, Logger: log,
			Client:       &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS, MaxIdleConnsPerHost: 32}},
			PollInterval: f.deliveryPoll, Concurrency: f.deliveryConc, SendTimeout: f.deliveryTime,
			MaxBackoff: f.deliveryMaxBO, Retries: f.deliveryTries, Registerer: svc.MetricsRegisterer(),
		})
		if err != nil {
			return err
		}
		opts.Notify = w.Kick
		go func() {
			defer close(workerDone)
			_ = w.Run(workerCtx)
		}()
	} else {
		close(workerDone)
	}

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if f.sweep > 0 {
		go svc.RunSweeper(ctx, f.sweep)
	}
	go pruneReceipts(ctx, log, f.receiptKeep, svc.PruneReceipts)
	srv := spine.NewHTTPServer(f.listen, svc.HTTPHandler(opts))
	scheme := "http"
	if serverTLS != nil {
		srv.TLSConfig = serverTLS
		ln = tls.NewListener(ln, serverTLS)
		scheme = "https"
	}
	// The address line is the contract with scripts and tests that start the
	// service on port 0: they read where it listens from here.
	fmt.Fprintf(stdout, "eps serve: listening on %s://%s (store %s)\n", scheme, ln.Addr(), f.db)
	err = serveUntilDone(ctx, srv, ln, log)
	stopWorker()
	<-workerDone
	return err
}

// newLogger makes the text logger of a --log-level.
func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// pruneReceipts forgets old ebXML receipts every hour until ctx ends.
func pruneReceipts(ctx context.Context, log *slog.Logger, keep time.Duration, prune func(context.Context, time.Duration) (int, error)) {
	if keep <= 0 {
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := prune(ctx, keep); err != nil && ctx.Err() == nil {
			log.Error("prune receipts", "err", err)
		} else if n > 0 {
			log.Info("pruned receipts", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
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
