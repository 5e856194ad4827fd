package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/openeps/openeps/internal/directory"
	"github.com/openeps/openeps/internal/mhs"
	"github.com/openeps/openeps/internal/store/storeopen"
	"github.com/openeps/openeps/internal/tlsconf"
)

func init() {
	register(command{
		name:    "mhs",
		summary: "run the client-side MHS adaptor: the NHS MHS adaptor's REST API in front of the Spine's ebXML, with a durable inbox",
		run:     runMHS,
	})
}

// isoOrGoDuration is a duration flag that takes ISO 8601 (PT1M, as SDS
// writes reliability) or Go's form (1m).
type isoOrGoDuration struct{ d *time.Duration }

func (v isoOrGoDuration) String() string {
	if v.d == nil {
		return ""
	}
	return v.d.String()
}

func (v isoOrGoDuration) Set(s string) error {
	if strings.HasPrefix(s, "P") {
		d, err := directory.ParseDuration(s)
		if err != nil {
			return err
		}
		*v.d = d
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

func runMHS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("mhs", stderr)
	var (
		listen, inbound, db, logLevel string
		apiTLS, peerTLS               tlsconf.Options
		cfg                           mhs.Config
		receiptKeep                   time.Duration
	)
	fs.StringVar(&listen, "listen", "127.0.0.1:8081", "address of the client API (the MHS adaptor's REST API, GET /inbox)")
	fs.StringVar(&inbound, "inbound-listen", "127.0.0.1:8443", "address of the inbound ebXML endpoint the Spine delivers to")
	fs.StringVar(&db, "db", "sqlite:mhs.db", "store of the inbox: sqlite:PATH or postgres://…")
	fs.StringVar(&cfg.SpineURL, "spine", "", "the Spine's URL: https://host:port (or the full ebXML endpoint URL)")
	fs.StringVar(&cfg.ASID, "asid", "", "this system's ASID")
	fs.StringVar(&cfg.PartyKey, "party-key", "", "this MHS's ebXML party key (inbound messages must be addressed to it)")
	fs.StringVar(&cfg.SpinePartyKey, "spine-party-key", mhs.DefaultSpinePartyKey, "the Spine's party key (eb:To)")
	fs.StringVar(&cfg.SpineASID, "spine-asid", mhs.DefaultSpineASID, "the Spine's ASID (sync SOAP)")
	fs.StringVar(&cfg.CPAId, "cpa-id", mhs.DefaultCPAId, "the eb:CPAId of the messages sent")
	cfg.Retries, cfg.RetryInterval = 2, time.Minute
	fs.IntVar(&cfg.Retries, "retries", cfg.Retries, "times a send that failed on the way is repeated (SDS nhsMHSRetries)")
	fs.Var(isoOrGoDuration{&cfg.RetryInterval}, "retry-interval", "wait before each retry, ISO 8601 (PT1M) or Go (1m) (SDS nhsMHSRetryInterval)")
	fs.DurationVar(&cfg.SendTimeout, "send-timeout", 30*time.Second, "time allowed for one send to the Spine")
	fs.DurationVar(&cfg.WaitTimeout, "wait-timeout", 60*time.Second, "how long wait-for-response holds a call for the async answer")
	fs.StringVar(&cfg.CallbackURL, "callback", "", "URL every inbox message is POSTed to (JSON) until it answers 2xx")
	fs.DurationVar(&cfg.InboundAckDelay, "inbound-ack-delay", 0, "fault injection for tests: hold each inbound acknowledgment back this long")
	fs.DurationVar(&receiptKeep, "receipt-retention", 7*24*time.Hour, "how long inbound message IDs are remembered for duplicate elimination")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	var trustDir string
	fs.StringVar(&trustDir, "trust-dir", "", "verify every prescription a release response hands over against this trust directory (roots/, intermediates/, crls/) and put the verdicts in the inbox")
	// The endpoint's certificate serves the inbound listener and is
	// presented to the Spine (mutual TLS both ways).
	fs.StringVar(&peerTLS.CertFile, "tls-cert", "", "PEM certificate of this endpoint: the inbound listener's, and presented to the Spine")
	fs.StringVar(&peerTLS.KeyFile, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&peerTLS.ClientCAFile, "client-ca", "", "PEM CA certificates: the inbound endpoint requires a client certificate they signed")
	fs.StringVar(&peerTLS.RootCAFile, "peer-ca", "", "PEM CA certificates that sign the Spine's certificate (default: --client-ca, then the system's)")
	fs.StringVar(&apiTLS.CertFile, "api-tls-cert", "", "PEM certificate for the client API (default: plain HTTP)")
	fs.StringVar(&apiTLS.KeyFile, "api-tls-key", "", "PEM private key of --api-tls-cert")
	fs.StringVar(&apiTLS.ClientCAFile, "api-client-ca", "", "PEM CA certificates: the client API requires a client certificate they signed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "eps mhs: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	if cfg.SpineURL == "" || cfg.PartyKey == "" {
		fmt.Fprintln(stderr, "eps mhs: --spine and --party-key are required")
		return errUsage
	}
	log, err := newLogger(logLevel, stderr)
	if err != nil {
		return err
	}
	cfg.Logger = log
	if trustDir != "" {
		if cfg.Trust, err = watchTrust(ctx, trustDir, time.Minute, log); err != nil {
			return err
		}
	}
	var inboundTLS, clientAPITLS *tls.Config
	if peerTLS.ServerEnabled() {
		if inboundTLS, err = tlsconf.Server(peerTLS); err != nil {
			return err
		}
	} else if peerTLS.ClientCAFile != "" {
		return errors.New("--client-ca needs --tls-cert and --tls-key")
	}
	outTLS, err := tlsconf.Client(peerTLS)
	if err != nil {
		return err
	}
	if apiTLS.ServerEnabled() {
		if clientAPITLS, err = tlsconf.Server(apiTLS); err != nil {
			return err
		}
	}
	cfg.Client = &http.Client{Transport: &http.Transport{TLSClientConfig: outTLS, MaxIdleConnsPerHost: 32}}

	st, err := storeopen.Open(ctx, db)
	if err != nil {
		return fmt.Errorf("open store %s: %w", db, err)
	}
	defer st.Close()
	cfg.Store = st
	a, err := mhs.New(cfg)
	if err != nil {
		return err
	}
	apiLn, err := listenMaybeTLS(listen, clientAPITLS)
	if err != nil {
		return err
	}
	inLn, err := listenMaybeTLS(inbound, inboundTLS)
	if err != nil {
		apiLn.Close()
		return err
	}
	hold := a.MaxHold() + 30*time.Second
	apiSrv := &http.Server{Handler: a.ClientHandler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: hold, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	inSrv := &http.Server{Handler: a.InboundHandler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60*time.Second + cfg.InboundAckDelay, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}

	var wg sync.WaitGroup
	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	wg.Add(2)
	go func() { defer wg.Done(); a.RunCallback(bg) }()
	go func() {
		defer wg.Done()
		pruneReceipts(bg, log, receiptKeep, func(ctx context.Context, keep time.Duration) (int, error) {
			return a.PruneReceipts(ctx, time.Now().Add(-keep))
		})
	}()
	fmt.Fprintf(stdout, "eps mhs: client API on %s, inbound ebXML on %s (party %s, Spine %s, store %s)\n",
		urlOf(apiLn, clientAPITLS), urlOf(inLn, inboundTLS), cfg.PartyKey, cfg.SpineURL, db)
	errc := make(chan error, 2)
	go func() { errc <- serveUntilDone(ctx, inSrv, inLn, log) }()
	go func() { errc <- serveUntilDone(ctx, apiSrv, apiLn, log) }()
	var first error
	for range 2 {
		if err := <-errc; err != nil && first == nil {
			first = err
			// One listener failed: stop the other too.
			inSrv.Close()
			apiSrv.Close()
		}
	}
	stopBG()
	wg.Wait()
	return first
}

func listenMaybeTLS(addr string, cfg *tls.Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	return ln, nil
}

func urlOf(ln net.Listener, cfg *tls.Config) string {
	if cfg != nil {
		return "https://" + ln.Addr().String()
	}
	return "http://" + ln.Addr().String()
}
