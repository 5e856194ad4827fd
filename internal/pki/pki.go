// Package pki is a small certificate authority for tests, demonstrations and
// the `eps ca` command: a root and an issuing (sub-)CA, smartcard-style
// certificates for prescribers and dispensers, revocation, and CRL/ARL
// publication. It mirrors the shape of the NHS smartcard PKI closely enough
// that what it issues exercises the same verification paths as the real
// thing (../shared/fixtures/hl7v3/eps-api/packages/coordinator/tests/resources/certificates
// and the certificates in the signed fixtures).
//
// A CA directory is also a trust directory (signature.LoadTrustDir reads
// roots/, intermediates/ and crls/ and ignores the rest):
//
//	D/roots/root.pem                   root CA certificate (the trust anchor)
//	D/intermediates/intermediate.pem   issuing CA certificate, signed by the root
//	D/crls/root.crl                    ARL: the root's list of revoked CA certificates
//	D/crls/intermediate.crl            CRL: the issuing CA's list of revoked smartcard certificates
//	D/private/root.key                 root key (PKCS#8 PEM, mode 0600)
//	D/private/intermediate.key         issuing CA key
//	D/issued/<SERIAL>.pem, <SERIAL>.key  each issued certificate and its key (key 0600)
//	D/ca.json                          the CA's records: issued certificates, revocations, CRL numbers
//
// Every file is PEM. Keys are RSA-2048, as on NHS smartcards.
package pki

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Paths inside a CA directory.
const (
	RootCertFile         = "roots/root.pem"
	IntermediateCertFile = "intermediates/intermediate.pem"
	RootCRLFile          = "crls/root.crl"
	IntermediateCRLFile  = "crls/intermediate.crl"
	RootKeyFile          = "private/root.key"
	IntermediateKeyFile  = "private/intermediate.key"
	IssuedDir            = "issued"
	StateFile            = "ca.json"
)

// Roles a certificate can be issued for. An NHS smartcard carries a signing
// certificate (key usage nonRepudiation) used for prescriptions' advanced
// electronic signatures, and an authentication certificate
// (digitalSignature); prescribers need the first, dispensers the second.
const (
	RolePrescriber = "prescriber"
	RoleDispenser  = "dispenser"
)

// NHS smartcard certificate policy, as in the certificates of the signed
// fixtures (critical certificatePolicies 1.2.826.0.1275.102.0.3.2.0).
var policyNHSSmartcard = asn1.ObjectIdentifier{1, 2, 826, 0, 1275, 102, 0, 3, 2, 0}

// oidPrivateKeyUsagePeriod is 2.5.29.16, which NHS smartcard certificates carry.
var oidPrivateKeyUsagePeriod = asn1.ObjectIdentifier{2, 5, 29, 16}

// InitOptions shape a new CA. Zero fields take the defaults.
type InitOptions struct {
	Org     string    // O= of every certificate (default "openeps")
	Now     time.Time // start of validity (default: the current time)
	Years   int       // CA validity (default 10)
	CRLDays int       // CRL/ARL validity (default 30)
	CRLBase string    // URL base the certificates name as CRL distribution points (default "http://crl.openeps.invalid")
	Rand    io.Reader // randomness (default crypto/rand)
	KeyBits int       // RSA key size (default 2048)
}

func (o *InitOptions) defaults() {
	if o.Org == "" {
		o.Org = "openeps"
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Years <= 0 {
		o.Years = 10
	}
	if o.CRLDays <= 0 {
		o.CRLDays = 30
	}
	if o.CRLBase == "" {
		o.CRLBase = "http://crl.openeps.invalid"
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.KeyBits == 0 {
		o.KeyBits = 2048
	}
}

// State is the CA's record, kept in ca.json.
type State struct {
	Org        string   `json:"org"`
	CRLBase    string   `json:"crlBase"`
	CRLDays    int      `json:"crlDays"`
	RootCRLNum int64    `json:"rootCrlNumber"`
	IntCRLNum  int64    `json:"intermediateCrlNumber"`
	Issued     []Record `json:"issued"`
}

// Record is one certificate the CA issued (the issuing CA included).
type Record struct {
	Serial    string    `json:"serial"` // upper-case hex
	Subject   string    `json:"subject"`
	Role      string    `json:"role"` // prescriber, dispenser or "ca"
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	Issuer    string    `json:"issuer"` // "root" or "intermediate"
	Revoked   *Revoked  `json:"revoked,omitempty"`
}

// Revoked says when and why a certificate was revoked.
type Revoked struct {
	At     time.Time `json:"at"`
	Reason int       `json:"reason"` // RFC 5280 CRLReason
}

// CA is an open CA directory.
type CA struct {
	Dir   string
	State State

	RootCert *x509.Certificate
	RootKey  *rsa.PrivateKey
	IntCert  *x509.Certificate
	IntKey   *rsa.PrivateKey
}

// Init creates a CA in dir (which must not hold one already): a self-signed
// root, an issuing CA signed by it, both keys, and empty CRLs.
func Init(dir string, opts InitOptions) (*CA, error) {
	opts.defaults()
	if _, err := os.Stat(filepath.Join(dir, StateFile)); err == nil {
		return nil, fmt.Errorf("ca init: %s already holds a CA", dir)
	}
	for _, sub := range []string{"roots", "intermediates", "crls", "private", IssuedDir} {
		perm := os.FileMode(0o755)
		if sub == "private" || sub == IssuedDir {
			perm = 0o700
		}
		if err := os.MkdirAll(filepath.Join(dir, sub), perm); err != nil {
			return nil, fmt.Errorf("ca init: %w", err)
		}
	}
	ca := &CA{Dir: dir, State: State{Org: opts.Org, CRLBase: strings.TrimRight(opts.CRLBase, "/"), CRLDays: opts.CRLDays}}
	start := opts.Now.Add(-5 * time.Minute).UTC()
	end := start.AddDate(opts.Years, 0, 0)

	var err error
	if ca.RootKey, err = rsa.GenerateKey(opts.Rand, opts.KeyBits); err != nil {
		return nil, fmt.Errorf("ca init: root key: %w", err)
	}
	rootSerial, err := newSerial(opts.Rand)
	if err != nil {
		return nil, err
	}
	root := &x509.Certificate{
		SerialNumber:          rootSerial,
		Subject:               pkix.Name{Organization: []string{opts.Org}, OrganizationalUnit: []string{"CA"}, CommonName: opts.Org + " Root Authority"},
		NotBefore:             start,
		NotAfter:              end,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          keyID(&ca.RootKey.PublicKey),
	}
	if ca.RootCert, err = create(opts.Rand, root, root, &ca.RootKey.PublicKey, ca.RootKey); err != nil {
		return nil, fmt.Errorf("ca init: root certificate: %w", err)
	}

	if ca.IntKey, err = rsa.GenerateKey(opts.Rand, opts.KeyBits); err != nil {
		return nil, fmt.Errorf("ca init: issuing CA key: %w", err)
	}
	intSerial, err := newSerial(opts.Rand)
	if err != nil {
		return nil, err
	}
	inter := &x509.Certificate{
		SerialNumber:          intSerial,
		Subject:               pkix.Name{Organization: []string{opts.Org}, OrganizationalUnit: []string{"CA"}, CommonName: opts.Org + " Signing Level 1"},
		NotBefore:             start,
		NotAfter:              end.AddDate(-1, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          keyID(&ca.IntKey.PublicKey),
		CRLDistributionPoints: []string{ca.State.CRLBase + "/root.crl"},
	}
	if ca.IntCert, err = create(opts.Rand, inter, ca.RootCert, &ca.IntKey.PublicKey, ca.RootKey); err != nil {
		return nil, fmt.Errorf("ca init: issuing CA certificate: %w", err)
	}
	ca.State.Issued = append(ca.State.Issued, Record{
		Serial: serialHex(intSerial), Subject: ca.IntCert.Subject.String(), Role: "ca",
		NotBefore: ca.IntCert.NotBefore, NotAfter: ca.IntCert.NotAfter, Issuer: "root",
	})

	writes := []struct {
		path string
		data []byte
		perm os.FileMode
	}{
		{RootCertFile, certPEM(ca.RootCert), 0o644},
		{IntermediateCertFile, certPEM(ca.IntCert), 0o644},
		{RootKeyFile, keyPEM(ca.RootKey), 0o600},
		{IntermediateKeyFile, keyPEM(ca.IntKey), 0o600},
	}
	for _, w := range writes {
		if err := writeFile(filepath.Join(dir, w.path), w.data, w.perm); err != nil {
			return nil, fmt.Errorf("ca init: %w", err)
		}
	}
	if err := ca.PublishCRL(opts.Now); err != nil {
		return nil, err
	}
	return ca, nil
}

// Open reads the CA in dir.
func Open(dir string) (*CA, error) {
	ca := &CA{Dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return nil, fmt.Errorf("open CA: %w (run `eps ca init --dir %s` first)", err, dir)
	}
	if err := json.Unmarshal(b, &ca.State); err != nil {
		return nil, fmt.Errorf("open CA: %s: %w", StateFile, err)
	}
	if ca.RootCert, err = readCert(filepath.Join(dir, RootCertFile)); err != nil {
		return nil, err
	}
	if ca.IntCert, err = readCert(filepath.Join(dir, IntermediateCertFile)); err != nil {
		return nil, err
	}
	if ca.RootKey, err = ReadKey(filepath.Join(dir, RootKeyFile)); err != nil {
		return nil, err
	}
	if ca.IntKey, err = ReadKey(filepath.Join(dir, IntermediateKeyFile)); err != nil {
		return nil, err
	}
	return ca, nil
}

// IssueOptions shape an issued certificate. Zero fields take the defaults.
type IssueOptions struct {
	// UserID is the SDS user ID (12 digits) put before the name in the
	// common name, as on NHS smartcards ("555253521108_RANDOM_USERQ").
	// Default: 12 random digits starting 555 (the INT range).
	UserID string
	Now    time.Time // start of validity (default: the current time)
	Days   int       // validity (default 730: two years, like the INT smartcards)
	Rand   io.Reader // default crypto/rand
}

// Issued is a new certificate with its key.
type Issued struct {
	Cert     *x509.Certificate
	Key      *rsa.PrivateKey
	CertPath string
	KeyPath  string
}

// Issue opens the CA in dir and issues a smartcard-style certificate for
// name (a person, "Dr A Smith") in role (RolePrescriber or RoleDispenser).
func Issue(dir, name, role string, opts IssueOptions) (*Issued, error) {
	ca, err := Open(dir)
	if err != nil {
		return nil, err
	}
	return ca.Issue(name, role, opts)
}

// Issue issues a smartcard-style certificate. The profile follows the NHS
// INT smartcards in the fixtures: subject O=<org>, OU=People,
// CN=<SDS user ID>_<name>; RSA-2048; key usage (critical) nonRepudiation for
// a prescriber's signing certificate, digitalSignature for a dispenser's;
// critical certificate policy 1.2.826.0.1275.102.0.3.2.0; CRL distribution
// point; private key usage period; authority and subject key identifiers;
// basicConstraints CA:FALSE; sha256WithRSAEncryption.
func (ca *CA) Issue(name, role string, opts IssueOptions) (*Issued, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, errors.New("ca issue: a name is needed")
	}
	var ku x509.KeyUsage
	var eku []x509.ExtKeyUsage
	switch role {
	case RolePrescriber:
		ku = x509.KeyUsageContentCommitment
	case RoleDispenser:
		ku = x509.KeyUsageDigitalSignature
		eku = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	default:
		return nil, fmt.Errorf("ca issue: unknown role %q (want %s or %s)", role, RolePrescriber, RoleDispenser)
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Days <= 0 {
		opts.Days = 730
	}
	if opts.UserID == "" {
		n, err := rand.Int(opts.Rand, big.NewInt(1_000_000_000))
		if err != nil {
			return nil, err
		}
		opts.UserID = fmt.Sprintf("555%09d", n.Int64())
	}
	key, err := rsa.GenerateKey(opts.Rand, 2048)
	if err != nil {
		return nil, fmt.Errorf("ca issue: key: %w", err)
	}
	serial, err := newSerial(opts.Rand)
	if err != nil {
		return nil, err
	}
	start := opts.Now.Add(-5 * time.Minute).UTC().Truncate(time.Second)
	end := start.AddDate(0, 0, opts.Days)
	if end.After(ca.IntCert.NotAfter) {
		end = ca.IntCert.NotAfter
	}
	pkup, err := asn1.Marshal(privateKeyUsagePeriod{NotBefore: start, NotAfter: start.Add(end.Sub(start) * 3 / 4)})
	if err != nil {
		return nil, err
	}
	policies, err := asn1.Marshal([]policyInformation{{Policy: policyNHSSmartcard}})
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Organization:       []string{ca.State.Org},
			OrganizationalUnit: []string{"People"},
			CommonName:         opts.UserID + "_" + strings.Join(strings.Fields(name), "_"),
		},
		NotBefore:             start,
		NotAfter:              end,
		KeyUsage:              ku,
		ExtKeyUsage:           eku,
		BasicConstraintsValid: true,
		IsCA:                  false,
		SubjectKeyId:          keyID(&key.PublicKey),
		CRLDistributionPoints: []string{ca.State.CRLBase + "/intermediate.crl"},
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{2, 5, 29, 32}, Critical: true, Value: policies},
			{Id: oidPrivateKeyUsagePeriod, Value: pkup},
		},
	}
	cert, err := create(opts.Rand, tmpl, ca.IntCert, &key.PublicKey, ca.IntKey)
	if err != nil {
		return nil, fmt.Errorf("ca issue: %w", err)
	}
	is := &Issued{
		Cert:     cert,
		Key:      key,
		CertPath: filepath.Join(ca.Dir, IssuedDir, serialHex(serial)+".pem"),
		KeyPath:  filepath.Join(ca.Dir, IssuedDir, serialHex(serial)+".key"),
	}
	if err := writeFile(is.CertPath, certPEM(cert), 0o644); err != nil {
		return nil, err
	}
	if err := writeFile(is.KeyPath, keyPEM(key), 0o600); err != nil {
		return nil, err
	}
	ca.State.Issued = append(ca.State.Issued, Record{
		Serial: serialHex(serial), Subject: cert.Subject.String(), Role: role,
		NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, Issuer: "intermediate",
	})
	if err := ca.save(); err != nil {
		return nil, err
	}
	return is, nil
}

// CRL reason codes (RFC 5280 §5.3.1) by the names openssl and the EPS use.
var ReasonCodes = map[string]int{
	"unspecified": 0, "keyCompromise": 1, "cACompromise": 2, "affiliationChanged": 3,
	"superseded": 4, "cessationOfOperation": 5, "certificateHold": 6,
	"privilegeWithdrawn": 9, "aACompromise": 10,
}

// ParseReason reads a CRL reason by name (any case) or number.
func ParseReason(s string) (int, error) {
	for n, c := range ReasonCodes {
		if strings.EqualFold(n, s) {
			return c, nil
		}
	}
	var c int
	if _, err := fmt.Sscanf(s, "%d", &c); err == nil && c >= 0 && c <= 10 && c != 7 {
		return c, nil
	}
	names := make([]string, 0, len(ReasonCodes))
	for n := range ReasonCodes {
		names = append(names, n)
	}
	sort.Strings(names)
	return 0, fmt.Errorf("unknown revocation reason %q (want one of %s)", s, strings.Join(names, ", "))
}

// Revoke opens the CA in dir and records serial (hex) as revoked at at for
// reason. The issuing CA's own serial revokes the issuing CA (it goes on the
// root's ARL). Publish the CRLs afterwards (PublishCRL) for verifiers to see it.
func Revoke(dir, serial string, reason int, at time.Time) error {
	ca, err := Open(dir)
	if err != nil {
		return err
	}
	return ca.Revoke(serial, reason, at)
}

// Revoke records serial as revoked. at zero means now.
func (ca *CA) Revoke(serial string, reason int, at time.Time) error {
	want := normalSerial(serial)
	if at.IsZero() {
		at = time.Now()
	}
	for k := range ca.State.Issued {
		r := &ca.State.Issued[k]
		if r.Serial != want {
			continue
		}
		if r.Revoked != nil {
			return fmt.Errorf("ca revoke: %s was already revoked at %s", r.Serial, r.Revoked.At.Format(time.RFC3339))
		}
		r.Revoked = &Revoked{At: at.UTC().Truncate(time.Second), Reason: reason}
		return ca.save()
	}
	return fmt.Errorf("ca revoke: no certificate with serial %s was issued by this CA", want)
}

// PublishCRL opens the CA in dir and writes fresh CRLs dated now.
func PublishCRL(dir string, now time.Time) error {
	ca, err := Open(dir)
	if err != nil {
		return err
	}
	return ca.PublishCRL(now)
}

// PublishCRL writes the root's ARL (revoked CA certificates) and the issuing
// CA's CRL (revoked smartcard certificates), valid from now for the CA's
// CRL period, each with the next CRL number.
func (ca *CA) PublishCRL(now time.Time) error {
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC().Truncate(time.Second)
	next := now.AddDate(0, 0, ca.State.CRLDays)
	var rootEntries, intEntries []x509.RevocationListEntry
	for _, r := range ca.State.Issued {
		if r.Revoked == nil {
			continue
		}
		sn, ok := new(big.Int).SetString(r.Serial, 16)
		if !ok {
			return fmt.Errorf("ca crl: bad serial %q in %s", r.Serial, StateFile)
		}
		e := x509.RevocationListEntry{SerialNumber: sn, RevocationTime: r.Revoked.At, ReasonCode: r.Revoked.Reason}
		if r.Issuer == "root" {
			rootEntries = append(rootEntries, e)
		} else {
			intEntries = append(intEntries, e)
		}
	}
	ca.State.RootCRLNum++
	ca.State.IntCRLNum++
	for _, c := range []struct {
		file    string
		entries []x509.RevocationListEntry
		num     int64
		cert    *x509.Certificate
		key     *rsa.PrivateKey
	}{
		{RootCRLFile, rootEntries, ca.State.RootCRLNum, ca.RootCert, ca.RootKey},
		{IntermediateCRLFile, intEntries, ca.State.IntCRLNum, ca.IntCert, ca.IntKey},
	} {
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
			Number:                    big.NewInt(c.num),
			ThisUpdate:                now,
			NextUpdate:                next,
			RevokedCertificateEntries: c.entries,
		}, c.cert, c.key)
		if err != nil {
			return fmt.Errorf("ca crl: %w", err)
		}
		if err := writeFile(filepath.Join(ca.Dir, c.file), pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), 0o644); err != nil {
			return err
		}
	}
	return ca.save()
}

// Find returns the record for serial (hex, any case), if issued here.
func (ca *CA) Find(serial string) (Record, bool) {
	want := normalSerial(serial)
	for _, r := range ca.State.Issued {
		if r.Serial == want {
			return r, true
		}
	}
	return Record{}, false
}

func (ca *CA) save() error {
	b, err := json.MarshalIndent(ca.State, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(ca.Dir, StateFile), append(b, '\n'), 0o644)
}

// privateKeyUsagePeriod is RFC 3280's PrivateKeyUsagePeriod.
type privateKeyUsagePeriod struct {
	NotBefore time.Time `asn1:"optional,tag:0,generalized"`
	NotAfter  time.Time `asn1:"optional,tag:1,generalized"`
}

type policyInformation struct {
	Policy asn1.ObjectIdentifier
}

func create(r io.Reader, tmpl, parent *x509.Certificate, pub *rsa.PublicKey, signer *rsa.PrivateKey) (*x509.Certificate, error) {
	tmpl.SignatureAlgorithm = x509.SHA256WithRSA
	der, err := x509.CreateCertificate(r, tmpl, parent, pub, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// newSerial returns a random positive 64-bit serial number.
func newSerial(r io.Reader) (*big.Int, error) {
	n, err := rand.Int(r, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// keyID is the RFC 5280 method 1 key identifier: SHA-1 of the public key bits.
func keyID(pub *rsa.PublicKey) []byte {
	der := x509.MarshalPKCS1PublicKey(pub)
	h := sha1.Sum(der)
	return h[:]
}

func serialHex(n *big.Int) string { return strings.ToUpper(n.Text(16)) }

// SerialHex formats a certificate serial number as this package writes it.
func SerialHex(n *big.Int) string { return serialHex(n) }

func normalSerial(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "0X")
	s = strings.ReplaceAll(s, ":", "")
	s = strings.TrimLeft(s, "0")
	if s == "" {
		s = "0"
	}
	return s
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func keyPEM(k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err) // an RSA key always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseCertificatePEM(b)
}

// ReadCert reads a PEM certificate file.
func ReadCert(path string) (*x509.Certificate, error) {
	c, err := readCert(path)
	if err != nil {
		return nil, fmt.Errorf("read certificate %s: %w", path, err)
	}
	return c, nil
}

// ParseCertificatePEM reads the first CERTIFICATE block (or DER).
func ParseCertificatePEM(b []byte) (*x509.Certificate, error) {
	for {
		blk, rest := pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type == "CERTIFICATE" {
			return x509.ParseCertificate(blk.Bytes)
		}
		b = rest
	}
	return x509.ParseCertificate(b)
}

// ReadKey reads an RSA private key, PEM PKCS#8 ("PRIVATE KEY") or PKCS#1
// ("RSA PRIVATE KEY", as openssl genrsa writes).
func ReadKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParseKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	return k, nil
}

// ParseKeyPEM reads the first private key block of b.
func ParseKeyPEM(b []byte) (*rsa.PrivateKey, error) {
	for {
		blk, rest := pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no private key block")
		}
		b = rest
		switch blk.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, err
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("the key is %T, not RSA", k)
			}
			return rk, nil
		case "RSA PRIVATE KEY":
			return x509.ParsePKCS1PrivateKey(blk.Bytes)
		}
	}
}

// writeFile writes atomically (temporary file, then rename), so a verifier
// polling the directory never reads half a CRL.
func writeFile(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, perm)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}
