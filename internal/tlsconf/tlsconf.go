// Package tlsconf builds the TLS configurations of openeps's network ends
// from PEM files: the server side of `eps serve` and of `eps mhs`'s inbound
// endpoint (mutual TLS when a client CA is given: a client without a
// certificate from that CA is refused in the handshake), and the client side
// of the delivery worker and of `eps mhs` (its own certificate, for the
// receiver's mutual TLS, and the CA that signs the receivers).
//
// The Spine requires mutual TLS between every MHS and itself, with a
// certificate per endpoint (transport.md §7); this package is how openeps
// does the same with its own CA.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
)

// Options names the PEM files. Zero fields are not used.
type Options struct {
	// CertFile and KeyFile are our certificate (chain) and its private key:
	// the server certificate of a listener, and the client certificate
	// presented when we connect out (the NHS issues one certificate per
	// endpoint and it serves both ways).
	CertFile, KeyFile string
	// ClientCAFile holds the CA certificates that sign our clients'
	// certificates. When set, a server refuses any client without one.
	ClientCAFile string
	// RootCAFile holds the CA certificates that sign the servers we connect
	// to. Empty: ClientCAFile (one PKI for both directions, as the NHS's),
	// and if that is empty too, the system roots.
	RootCAFile string
}

// ServerEnabled reports whether a listener should speak TLS.
func (o Options) ServerEnabled() bool { return o.CertFile != "" || o.KeyFile != "" }

// MutualTLS reports whether a server built from o requires client certificates.
func (o Options) MutualTLS() bool { return o.ClientCAFile != "" }

// Server returns the configuration of a TLS listener: our certificate, TLS
// 1.2 or later, and — when ClientCAFile is set — a verified client
// certificate required from every client.
func Server(o Options) (*tls.Config, error) {
	if o.CertFile == "" || o.KeyFile == "" {
		return nil, errors.New("tls: a server needs both a certificate and a key file")
	}
	cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: load %s / %s: %w", o.CertFile, o.KeyFile, err)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
	}
	if o.ClientCAFile != "" {
		pool, err := loadPool(o.ClientCAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// Client returns the configuration for connecting out: the roots that sign
// the servers (RootCAFile, else ClientCAFile, else the system's) and, when
// CertFile and KeyFile are set, our certificate for their mutual TLS.
func Client(o Options) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("tls: a client certificate needs both a certificate and a key file")
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: load %s / %s: %w", o.CertFile, o.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	roots := o.RootCAFile
	if roots == "" {
		roots = o.ClientCAFile
	}
	if roots != "" {
		pool, err := loadPool(roots)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// loadPool reads PEM CA certificates.
func loadPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tls: read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls: %s holds no PEM certificate", path)
	}
	return pool, nil
}

// PeerCertificate returns the verified client certificate of a request
// received over mutual TLS, or nil.
func PeerCertificate(r *http.Request) *x509.Certificate {
	if r == nil || r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	return r.TLS.PeerCertificates[0]
}
