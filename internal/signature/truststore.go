package signature

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// TrustStore is what the verifier trusts: anchors (the roots or sub-CAs a
// chain must end at), intermediates (CA certificates used to build chains),
// and CRLs/ARLs. It is immutable once built and safe for concurrent use;
// reloading builds a new one (see TrustDir).
//
// A chain is built from the signer's certificate up through intermediates
// and anchors, matching issuer to subject and checking each signature
// (SHA-1 certificate signatures are accepted: NHS smartcard PKIs still issue
// them). Like the EPS, which trusts the sub-CA certificates it is given, an
// anchor need not be self-signed. A CRL applies to a certificate when its
// issuer name is the certificate's issuer name; every CRL must be signed by a
// certificate in the store, checked at load.
type TrustStore struct {
	anchors       []*x509.Certificate
	intermediates []*x509.Certificate
	bySubject     map[string][]*x509.Certificate // every CA certificate, by raw subject
	anchor        map[string]bool                // string(cert.Raw) of each anchor
	crls          map[string][]*crl              // by raw issuer
	ncrl          int
	source        string // where it was loaded from, for messages

	cache certCache
}

// crl is a verified CRL (or ARL: the same thing, issued by a CA about CAs).
type crl struct {
	list    *x509.RevocationList
	entries map[string]*x509.RevocationListEntry // by serial number bytes
	source  string
}

// NewTrustStore builds a store from parsed material. Every CRL must be signed
// by one of the given certificates.
func NewTrustStore(anchors, intermediates []*x509.Certificate, crls []*x509.RevocationList) (*TrustStore, error) {
	ts := &TrustStore{
		bySubject: map[string][]*x509.Certificate{},
		anchor:    map[string]bool{},
		crls:      map[string][]*crl{},
	}
	for _, c := range anchors {
		if ts.anchor[string(c.Raw)] {
			continue
		}
		ts.anchor[string(c.Raw)] = true
		ts.anchors = append(ts.anchors, c)
		ts.bySubject[string(c.RawSubject)] = append(ts.bySubject[string(c.RawSubject)], c)
	}
	seen := map[string]bool{}
	for _, c := range intermediates {
		if ts.anchor[string(c.Raw)] || seen[string(c.Raw)] {
			continue
		}
		seen[string(c.Raw)] = true
		ts.intermediates = append(ts.intermediates, c)
		ts.bySubject[string(c.RawSubject)] = append(ts.bySubject[string(c.RawSubject)], c)
	}
	for k, l := range crls {
		if err := ts.addCRL(l, fmt.Sprintf("CRL %d", k+1)); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

func (ts *TrustStore) addCRL(l *x509.RevocationList, source string) error {
	var signer *x509.Certificate
	for _, c := range ts.bySubject[string(l.RawIssuer)] {
		if checkSigned(c, l.SignatureAlgorithm, l.RawTBSRevocationList, l.Signature) == nil {
			signer = c
			break
		}
	}
	if signer == nil {
		return fmt.Errorf("%s (issuer %q): not signed by any certificate in the trust store", source, issuerName(l))
	}
	cl := &crl{list: l, entries: make(map[string]*x509.RevocationListEntry, len(l.RevokedCertificateEntries)), source: source}
	for k := range l.RevokedCertificateEntries {
		e := &l.RevokedCertificateEntries[k]
		if e.SerialNumber != nil {
			cl.entries[string(e.SerialNumber.Bytes())] = e
		}
	}
	ts.crls[string(l.RawIssuer)] = append(ts.crls[string(l.RawIssuer)], cl)
	ts.ncrl++
	return nil
}

func issuerName(l *x509.RevocationList) string { return DN(l.RawIssuer) }

// DN renders a raw distinguished name with every attribute in it (a
// pkix.Name keeps one common name of several: NHS smartcard subjects carry
// two, "CN=NHS INT Level 2D, CN=John Smith").
func DN(raw []byte) string {
	var rdn pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &rdn); err != nil || len(rest) > 0 {
		return fmt.Sprintf("(unparsable name %X)", raw)
	}
	return rdn.String()
}

// Anchors returns the trust anchors.
func (ts *TrustStore) Anchors() []*x509.Certificate { return ts.anchors }

// Intermediates returns the CA certificates used to build chains.
func (ts *TrustStore) Intermediates() []*x509.Certificate { return ts.intermediates }

// CRLs returns every CRL and ARL held.
func (ts *TrustStore) CRLs() []*x509.RevocationList {
	var out []*x509.RevocationList
	for _, ls := range ts.crls {
		for _, l := range ls {
			out = append(out, l.list)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Issuer.String() < out[j].Issuer.String() })
	return out
}

// String summarises the store: "trust dir D: 2 anchors, 1 intermediate, 2 CRLs".
func (ts *TrustStore) String() string {
	src := ts.source
	if src == "" {
		src = "trust store"
	}
	return fmt.Sprintf("%s: %d anchors, %d intermediates, %d CRLs", src, len(ts.anchors), len(ts.intermediates), ts.ncrl)
}

// LoadTrustDir reads a trust directory:
//
//	D/roots/          trust anchors: root or sub-CA certificates a chain must end at
//	D/intermediates/  other CA certificates, used to build chains (optional)
//	D/crls/           CRLs and ARLs (optional)
//
// Certificates are files named *.pem, *.crt, *.cer or *.der, PEM (one or more
// CERTIFICATE blocks) or DER; CRLs are *.crl, *.pem or *.der, PEM (X509 CRL)
// or DER. Other files, and hidden ones, are ignored, so a directory made by
// `eps ca init` (which keeps its keys in private/ and issued/) is a trust
// directory as it stands.
func LoadTrustDir(dir string) (*TrustStore, error) {
	ts, _, err := loadTrustDir(dir)
	return ts, err
}

func loadTrustDir(dir string) (*TrustStore, string, error) {
	stamp, err := dirStamp(dir)
	if err != nil {
		return nil, "", err
	}
	roots, err := readCertDir(filepath.Join(dir, "roots"), true)
	if err != nil {
		return nil, "", err
	}
	if len(roots) == 0 {
		return nil, "", fmt.Errorf("trust dir %s: no certificates in roots/", dir)
	}
	inter, err := readCertDir(filepath.Join(dir, "intermediates"), false)
	if err != nil {
		return nil, "", err
	}
	ts, err := NewTrustStore(roots, inter, nil)
	if err != nil {
		return nil, "", err
	}
	ts.source = "trust dir " + dir
	crlDir := filepath.Join(dir, "crls")
	files, err := listFiles(crlDir, false, ".crl", ".pem", ".der")
	if err != nil {
		return nil, "", err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, "", err
		}
		lists, err := parseCRLs(b)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", f, err)
		}
		for _, l := range lists {
			if err := ts.addCRL(l, f); err != nil {
				return nil, "", err
			}
		}
	}
	return ts, stamp, nil
}

var certExts = []string{".pem", ".crt", ".cer", ".der"}

func readCertDir(dir string, required bool) ([]*x509.Certificate, error) {
	files, err := listFiles(dir, required, certExts...)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		cs, err := ParseCertificates(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, cs...)
	}
	return out, nil
}

// listFiles returns the non-hidden regular files in dir with one of exts,
// sorted. A missing dir is an error only if required.
func listFiles(dir string, required bool, exts ...string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !required {
			return nil, nil
		}
		return nil, fmt.Errorf("trust dir: %w", err)
	}
	var out []string
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !e.Type().IsRegular() {
			continue
		}
		ext := strings.ToLower(filepath.Ext(name))
		for _, x := range exts {
			if ext == x {
				out = append(out, filepath.Join(dir, name))
				break
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// dirStamp fingerprints what LoadTrustDir reads: names, sizes and
// modification times, so a poll can tell whether anything changed.
func dirStamp(dir string) (string, error) {
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("trust dir: %w", err)
	}
	var b strings.Builder
	for _, sub := range []string{"roots", "intermediates", "crls"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return "", fmt.Errorf("trust dir: %w", err)
		}
		for _, e := range ents {
			info, err := e.Info()
			if err != nil {
				continue // removed while listing: the next poll sees it
			}
			fmt.Fprintf(&b, "%s/%s %d %d\n", sub, e.Name(), info.Size(), info.ModTime().UnixNano())
		}
	}
	return b.String(), nil
}

// ParseCertificates reads one or more certificates, PEM or DER.
func ParseCertificates(b []byte) ([]*x509.Certificate, error) {
	if !bytes.Contains(b, []byte("-----BEGIN")) {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return nil, err
		}
		return []*x509.Certificate{c}, nil
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no CERTIFICATE block")
	}
	return out, nil
}

// parseCRLs reads one or more CRLs, PEM or DER.
func parseCRLs(b []byte) ([]*x509.RevocationList, error) {
	if !bytes.Contains(b, []byte("-----BEGIN")) {
		l, err := x509.ParseRevocationList(b)
		if err != nil {
			return nil, err
		}
		return []*x509.RevocationList{l}, nil
	}
	var out []*x509.RevocationList
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "X509 CRL" {
			continue
		}
		l, err := x509.ParseRevocationList(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, errors.New("no X509 CRL block")
	}
	return out, nil
}

// checkSigned checks that parent's key made signature over signed. Unlike
// x509.Certificate.CheckSignature it accepts SHA-1 with RSA, which NHS
// smartcard CAs have long used.
func checkSigned(parent *x509.Certificate, alg x509.SignatureAlgorithm, signed, signature []byte) error {
	if alg == x509.SHA1WithRSA {
		pub, ok := parent.PublicKey.(*rsa.PublicKey)
		if !ok {
			return errors.New("SHA1WithRSA signature from a non-RSA key")
		}
		h := crypto.SHA1.New()
		h.Write(signed)
		return rsa.VerifyPKCS1v15(pub, crypto.SHA1, h.Sum(nil), signature)
	}
	return parent.CheckSignature(alg, signed, signature)
}

// canIssue reports whether c may sign certificates: a v3 CA certificate (with
// certSign if it has a key usage at all), or a v1 certificate, which predates
// the distinction.
func canIssue(c *x509.Certificate) bool {
	if c.Version < 3 {
		return true
	}
	if !c.BasicConstraintsValid || !c.IsCA {
		return false
	}
	return c.KeyUsage == 0 || c.KeyUsage&x509.KeyUsageCertSign != 0
}

const maxChain = 8

// chainFor builds leaf's chain: leaf first, then each issuer found in the
// store. trusted is true when it reaches an anchor; otherwise the chain holds
// what could be found and why says what is missing.
func (ts *TrustStore) chainFor(leaf *x509.Certificate) (chain []*x509.Certificate, trusted bool, why string) {
	chain = []*x509.Certificate{leaf}
	if ts.anchor[string(leaf.Raw)] {
		return chain, true, ""
	}
	cur := leaf
	for len(chain) < maxChain {
		var parent *x509.Certificate
		for _, p := range ts.bySubject[string(cur.RawIssuer)] {
			if !canIssue(p) || bytes.Equal(p.Raw, cur.Raw) {
				continue
			}
			if checkSigned(p, cur.SignatureAlgorithm, cur.RawTBSCertificate, cur.Signature) == nil {
				parent = p
				break
			}
		}
		if parent == nil {
			if len(ts.bySubject[string(cur.RawIssuer)]) > 0 {
				return chain, false, fmt.Sprintf("no certificate of %q in the trust store signed %q", DN(cur.RawIssuer), DN(cur.RawSubject))
			}
			return chain, false, fmt.Sprintf("issuer %q is not in the trust store", DN(cur.RawIssuer))
		}
		for _, c := range chain {
			if c == parent {
				return chain, false, "certificate chain loops"
			}
		}
		chain = append(chain, parent)
		if ts.anchor[string(parent.Raw)] {
			return chain, true, ""
		}
		cur = parent
	}
	return chain, false, "certificate chain too long"
}

// revocation is what the CRLs say about one certificate.
type revocation struct {
	entry *x509.RevocationListEntry // nil if not listed
	crl   *crl                      // the CRL listing it
	held  bool                      // some CRL from the issuer is held
	stale []*crl                    // applicable CRLs past nextUpdate at now
}

// revocationOf looks c up on the CRLs of its issuer.
func (ts *TrustStore) revocationOf(c *x509.Certificate, now time.Time) revocation {
	var r revocation
	serial := c.SerialNumber.Bytes()
	for _, l := range ts.crls[string(c.RawIssuer)] {
		r.held = true
		if !now.IsZero() && !l.list.NextUpdate.IsZero() && now.After(l.list.NextUpdate) {
			r.stale = append(r.stale, l)
		}
		if e := l.entries[string(serial)]; e != nil && r.entry == nil {
			r.entry, r.crl = e, l
		}
	}
	return r
}

// CRL reason codes (RFC 5280 §5.3.1) that invalidate every signature made
// with the key, whenever it was made (EPS-API certificate-revocation/verify.ts).
const (
	reasonKeyCompromise = 1
	reasonCACompromise  = 2
	reasonAACompromise  = 10
)

// revokedFor applies the EPS's rule to a CRL entry: a compromised key
// (keyCompromise, cACompromise, aACompromise) taints every signature; any
// other reason only signatures made at or after the revocation time.
func revokedFor(e *x509.RevocationListEntry, signedAt time.Time) bool {
	switch e.ReasonCode {
	case reasonKeyCompromise, reasonCACompromise, reasonAACompromise:
		return true
	}
	return !signedAt.Before(e.RevocationTime)
}

var reasonNames = map[int]string{
	0: "unspecified", 1: "keyCompromise", 2: "cACompromise", 3: "affiliationChanged",
	4: "superseded", 5: "cessationOfOperation", 6: "certificateHold", 8: "removeFromCRL",
	9: "privilegeWithdrawn", 10: "aACompromise",
}

func reasonName(code int) string {
	if n, ok := reasonNames[code]; ok {
		return n
	}
	return fmt.Sprintf("reason %d", code)
}

// certInfo is what the store learns about one certificate, cached because
// the same prescriber signs many prescriptions and a chain check costs an RSA
// verification per link.
type certInfo struct {
	cert     *x509.Certificate
	parseErr error
	chain    []*x509.Certificate
	trusted  bool
	why      string
}

// certCache maps a certificate's base64 text (white space removed) to what
// was learnt about it. It is bounded: when full it starts again.
type certCache struct {
	mu sync.RWMutex
	m  map[string]*certInfo
}

const certCacheSize = 4096

func (c *certCache) get(key string) *certInfo {
	c.mu.RLock()
	ci := c.m[key]
	c.mu.RUnlock()
	return ci
}

func (c *certCache) put(key string, ci *certInfo) {
	key = strings.Clone(key) // it may point into the caller's message
	c.mu.Lock()
	if c.m == nil || len(c.m) >= certCacheSize {
		c.m = make(map[string]*certInfo, 64)
	}
	c.m[key] = ci
	c.mu.Unlock()
}

// certificate returns the parsed certificate for base64 text b64 and, with a
// store, its chain, from the cache when it has been seen before.
func (ts *TrustStore) certificate(b64 string) *certInfo {
	key := stripSpace(b64)
	if ts != nil {
		if ci := ts.cache.get(key); ci != nil {
			return ci
		}
	}
	ci := &certInfo{}
	der, err := decodeBase64(key)
	if err != nil {
		ci.parseErr = fmt.Errorf("X509Certificate is not base64: %w", err)
	} else if ci.cert, err = x509.ParseCertificate(der); err != nil {
		ci.parseErr = err
		ci.cert = nil
	}
	if ts != nil {
		if ci.cert != nil {
			ci.chain, ci.trusted, ci.why = ts.chainFor(ci.cert)
		}
		ts.cache.put(key, ci)
	}
	return ci
}
