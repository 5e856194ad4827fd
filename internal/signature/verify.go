package signature

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openeps/openeps/internal/epserr"
)

// VerifyOptions tune Verify. There is no hidden clock: certificate validity
// is judged at the signing time the prescription states (author/time), and
// CRL freshness at Now.
type VerifyOptions struct {
	// Now is when CRL freshness is judged: a CRL whose nextUpdate is before
	// Now gives RevocationUnknown. Zero skips the freshness check.
	Now time.Time
}

// Result is the verdict on one prescription's signature.
type Result struct {
	PrescriptionID   string // short-form ID (pertinentPrescription/id, root …18.8), if any
	PrescriptionUUID string // pertinentPrescription/id[1]/@root

	SignedAt    time.Time // author/time (UTC when it names no zone, as the EPS reads it)
	Algorithm   Algorithm // from SignatureMethod
	Certificate *x509.Certificate
	// Chain is the signer's certificate and the issuers found for it in the
	// trust store, up to the anchor when TrustChecked and trusted.
	Chain []*x509.Certificate
	// TrustChecked is false when no trust store was given: revocation and
	// the chain were not checked, and Valid means only that the signature is
	// sound and matches the prescription.
	TrustChecked bool

	// Failures are in the EPS's order. Empty means valid.
	Failures []Failure
	// Notes say what was not checked or was accepted leniently.
	Notes []string
}

// Valid reports whether no check failed.
func (r Result) Valid() bool { return len(r.Failures) == 0 }

// Has reports whether reason is among the failures.
func (r Result) Has(reason Reason) bool {
	for _, f := range r.Failures {
		if f.Reason == reason {
			return true
		}
	}
	return false
}

// Reasons lists the failures' reasons, in order.
func (r Result) Reasons() []Reason {
	out := make([]Reason, len(r.Failures))
	for k, f := range r.Failures {
		out[k] = f.Reason
	}
	return out
}

// Err returns nil when valid, else an *epserr.Error with the first failure's
// wire code and every failure in its detail.
func (r Result) Err() error {
	if r.Valid() {
		return nil
	}
	e := r.Failures[0].Err()
	e.Detail = joinFailures(r.Failures)
	if r.PrescriptionID != "" {
		e.Op = "verify signature of " + r.PrescriptionID
	}
	return e
}

// String gives "valid" or "invalid: Signature is invalid [signature-invalid 0105]; …".
func (r Result) String() string {
	if r.Valid() {
		return "valid"
	}
	return "invalid: " + joinFailures(r.Failures)
}

func (r *Result) add(f Failure) { r.Failures = append(r.Failures, f) }

// Verify checks the signature of the one ParentPrescription in msg: a whole
// PORX_IN020101/020102 interaction or a bare ParentPrescription payload (any
// document holding exactly one ParentPrescription). ts may be nil: the
// signature, the digest and the validity at the signing time are still
// checked, the chain and revocation not (Result.TrustChecked is false).
//
// Verification follows the EPS (spec hl7v3.md §7.4): it stops at the first
// of NotFound, InvalidFormat, MultipleCertificates, InvalidCertificate and
// UnsuitableKey, and otherwise reports every one of SignatureInvalid,
// DigestMismatch, CertificateRevoked, CARevoked, ExpiredWhenSigned,
// NotTrusted and RevocationUnknown that applies.
func Verify(msg []byte, ts *TrustStore, opts VerifyOptions) Result {
	t, err := getTree(msg)
	if err != nil {
		return Result{Failures: []Failure{{InvalidFormat, "message is not acceptable XML: " + err.Error()}}}
	}
	defer putTree(t)
	pps := t.findAll("ParentPrescription")
	switch len(pps) {
	case 1:
		return verifyOne(t, pps[0], ts, opts)
	case 0:
		return Result{Failures: []Failure{{InvalidFormat, "no ParentPrescription in the message"}}}
	default:
		return Result{Failures: []Failure{{InvalidFormat, fmt.Sprintf("the message holds %d prescriptions; verify them with VerifyAll", len(pps))}}}
	}
}

// VerifyAll checks every ParentPrescription in msg, in document order: what
// a dispenser does with a release response (PORX_IN070101/070103), which
// carries up to 25. It fails only if msg is not acceptable XML or holds no
// prescription.
func VerifyAll(msg []byte, ts *TrustStore, opts VerifyOptions) ([]Result, error) {
	t, err := getTree(msg)
	if err != nil {
		return nil, epserr.Invalid("verify signatures: message is not acceptable XML: %v", err)
	}
	defer putTree(t)
	pps := t.findAll("ParentPrescription")
	if len(pps) == 0 {
		return nil, epserr.Invalid("verify signatures: no ParentPrescription in the message")
	}
	if len(pps) > maxPrescriptions {
		return nil, epserr.Invalid("verify signatures: %d prescriptions in one message, more than %d", len(pps), maxPrescriptions)
	}
	out := make([]Result, len(pps))
	for k, pp := range pps {
		out[k] = verifyOne(t, pp, ts, opts)
	}
	return out, nil
}

// maxKeyBits bounds the RSA keys accepted: smartcard keys are 2048 bits, and
// a sender must not make each verification cost what a 16384-bit key does.
const maxKeyBits = 4096

// maxPrescriptions bounds VerifyAll: a release response carries at most 25.
const maxPrescriptions = 100

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func verifyOne(t *tree, pp int32, ts *TrustStore, opts VerifyOptions) (r Result) {
	r.TrustChecked = ts != nil
	p, err := locate(t, pp)
	if p.presc != none {
		id, uuid := prescriptionIDs(t, p.presc)
		r.PrescriptionID, r.PrescriptionUUID = strings.Clone(id), strings.Clone(uuid)
	}
	if err != nil {
		r.add(Failure{InvalidFormat, err.Error()})
		return r
	}
	tv, _ := t.attr(p.time, "value")
	signedAt, err := parseHL7Time(tv)
	if err != nil {
		r.add(Failure{InvalidFormat, "author/time: " + err.Error()})
		return r
	}
	r.SignedAt = signedAt

	d, f := parseDSig(t, p.signatureText)
	if f != nil {
		r.add(*f)
		return r
	}
	r.Algorithm = signatureMethodHash(d.sigMethod)

	if len(d.certs) > 1 {
		r.add(Failure{MultipleCertificates, fmt.Sprintf("KeyInfo holds %d X509Certificate elements", len(d.certs))})
		return r
	}
	if n := strings.Count(d.certs[0], "BEGIN CERTIFICATE"); n > 0 || strings.Contains(d.certs[0], "END CERTIFICATE") {
		if n > 1 {
			r.add(Failure{MultipleCertificates, fmt.Sprintf("X509Certificate holds %d PEM certificates", n)})
		} else {
			r.add(Failure{InvalidCertificate, "X509Certificate holds PEM armour, not base64 DER"})
		}
		return r
	}
	ci := ts.certificate(d.certs[0])
	if ci.parseErr != nil {
		r.add(Failure{InvalidCertificate, ci.parseErr.Error()})
		return r
	}
	cert := ci.cert
	r.Certificate = cert
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	switch {
	case !ok:
		r.add(Failure{UnsuitableKey, fmt.Sprintf("the certificate's key is %s, not RSA", cert.PublicKeyAlgorithm)})
		return r
	case pub.N.BitLen() < 1024 || pub.N.BitLen() > maxKeyBits:
		r.add(Failure{UnsuitableKey, fmt.Sprintf("RSA key of %d bits (1024 to %d accepted)", pub.N.BitLen(), maxKeyBits)})
		return r
	case cert.KeyUsage != 0 && cert.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0:
		r.add(Failure{UnsuitableKey, "the certificate's key usage allows neither digitalSignature nor nonRepudiation"})
		return r
	}

	bp := bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 1<<20 { // do not keep the buffer of a huge message
			bufPool.Put(bp)
		}
	}()

	// 1. SignatureValue over the canonical SignedInfo.
	if detail, note := checkSignatureValue(t, d, pub, r.Algorithm, bp); detail != "" {
		r.add(Failure{SignatureInvalid, detail})
	} else if note != "" {
		r.Notes = append(r.Notes, note)
	}

	// 2. SignedInfo against the prescription's own fragments.
	if detail := checkDigest(t, &p, d, bp); detail != "" {
		r.add(Failure{DigestMismatch, detail})
	}

	// 3–7. The certificate.
	checkCertificate(&r, ci, ts, signedAt, opts)
	return r
}

// checkSignatureValue verifies SignatureValue over SignedInfo as the EPS
// canonicalises it (white space between elements dropped). A signature made
// over the strict XML-DSig form, white space kept, is accepted too: the two
// differ only in text XML-DSig gives no meaning, and a standard signer would
// produce the second.
func checkSignatureValue(t *tree, d *dsig, pub *rsa.PublicKey, alg Algorithm, bp *[]byte) (detail, note string) {
	sig, err := decodeBase64(d.sigValue)
	if err != nil {
		return "SignatureValue is not base64", ""
	}
	h := alg.Hash().New()
	si := d.canonicalSignedInfo(t, true, (*bp)[:0])
	h.Write(si)
	*bp = si
	if rsa.VerifyPKCS1v15(pub, alg.Hash(), h.Sum(nil), sig) == nil {
		return "", ""
	}
	if d.hasSpace(t) {
		h.Reset()
		si = d.canonicalSignedInfo(t, false, (*bp)[:0])
		h.Write(si)
		*bp = si
		if rsa.VerifyPKCS1v15(pub, alg.Hash(), h.Sum(nil), sig) == nil {
			return "", "SignatureValue verified over SignedInfo with its white space kept (strict XML-DSig), not as the EPS reads it"
		}
	}
	return fmt.Sprintf("SignatureValue does not verify with the certificate's key (%s)", alg), ""
}

// checkDigest compares SignedInfo with the one the EPS would build from the
// prescription (createParametersDigest): the same canonicalisation in the
// Reference's one Transform, the SignatureMethod and DigestMethod of one
// algorithm, and the digest of the rebuilt FragmentsToBeHashed.
func checkDigest(t *tree, p *parts, d *dsig, bp *[]byte) string {
	alg := digestMethodAlgorithm(d.digestMethod)
	var probs []string
	if d.references != 1 {
		probs = append(probs, fmt.Sprintf("SignedInfo has %d References, expected one", d.references))
	}
	if len(d.transforms) != 1 || d.transforms[0] != d.c14nMethod {
		probs = append(probs, fmt.Sprintf("Reference transforms %q, expected [%s]", d.transforms, d.c14nMethod))
	}
	if d.digestMethod != alg.DigestMethod() {
		probs = append(probs, fmt.Sprintf("unsupported DigestMethod %q", d.digestMethod))
	}
	if d.sigMethod != alg.SignatureMethod() {
		probs = append(probs, fmt.Sprintf("SignatureMethod %q does not go with DigestMethod %q", d.sigMethod, d.digestMethod))
	}
	frag := p.fragments(t, (*bp)[:0])
	*bp = frag
	h := alg.Hash().New()
	h.Write(frag)
	sum := h.Sum(nil)
	got, err := decodeBase64(d.digestValue)
	switch {
	case err != nil:
		probs = append(probs, "DigestValue is not base64")
	case !bytes.Equal(got, sum):
		probs = append(probs, "DigestValue is not the digest of the prescription's signed fragments")
	}
	return strings.Join(probs, "; ")
}

// checkCertificate adds the certificate failures in the EPS's order:
// revoked, CA revoked, expired when signed, not trusted; then openeps's
// revocation-unknown.
func checkCertificate(r *Result, ci *certInfo, ts *TrustStore, signedAt time.Time, opts VerifyOptions) {
	cert := ci.cert
	var expired, untrusted []string
	if signedAt.Before(cert.NotBefore) || signedAt.After(cert.NotAfter) {
		expired = append(expired, fmt.Sprintf("signed %s, certificate valid %s to %s",
			signedAt.Format(time.RFC3339), cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339)))
	}
	if ts == nil {
		r.Chain = []*x509.Certificate{cert}
		if expired != nil {
			r.add(Failure{ExpiredWhenSigned, expired[0]})
		}
		r.Notes = append(r.Notes, "certificate chain and revocation not checked: no trust store")
		return
	}
	r.Chain = ci.chain

	var stale []string
	lr := ts.revocationOf(cert, opts.Now)
	if lr.entry != nil && revokedFor(lr.entry, signedAt) {
		r.add(Failure{CertificateRevoked, fmt.Sprintf("serial %X revoked %s (%s) on %s",
			cert.SerialNumber, lr.entry.RevocationTime.UTC().Format(time.RFC3339), reasonName(lr.entry.ReasonCode), lr.crl.source)})
	} else if lr.entry != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("serial %X is on %s (%s, %s) but was signed before its revocation",
			cert.SerialNumber, lr.crl.source, reasonName(lr.entry.ReasonCode), lr.entry.RevocationTime.UTC().Format(time.RFC3339)))
	}
	if !lr.held {
		r.Notes = append(r.Notes, fmt.Sprintf("no CRL held from %q: the certificate's revocation was not checked", DN(cert.RawIssuer)))
	}
	for _, l := range lr.stale {
		stale = append(stale, staleText(l, opts.Now))
	}

	var caRevoked []string
	for _, ca := range ci.chain[1:] {
		cr := ts.revocationOf(ca, opts.Now)
		if cr.entry != nil && revokedFor(cr.entry, signedAt) {
			caRevoked = append(caRevoked, fmt.Sprintf("CA %q (serial %X) revoked %s (%s) on %s",
				DN(ca.RawSubject), ca.SerialNumber, cr.entry.RevocationTime.UTC().Format(time.RFC3339), reasonName(cr.entry.ReasonCode), cr.crl.source))
		}
		for _, l := range cr.stale {
			stale = append(stale, staleText(l, opts.Now))
		}
		if signedAt.Before(ca.NotBefore) || signedAt.After(ca.NotAfter) {
			untrusted = append(untrusted, fmt.Sprintf("CA %q was not valid at the signing time (valid %s to %s)",
				DN(ca.RawSubject), ca.NotBefore.UTC().Format(time.RFC3339), ca.NotAfter.UTC().Format(time.RFC3339)))
		}
	}
	if caRevoked != nil {
		r.add(Failure{CARevoked, strings.Join(caRevoked, "; ")})
	}
	if expired != nil {
		r.add(Failure{ExpiredWhenSigned, expired[0]})
	}
	if !ci.trusted {
		untrusted = append([]string{ci.why}, untrusted...)
	}
	if untrusted != nil {
		r.add(Failure{NotTrusted, strings.Join(untrusted, "; ")})
	}
	if stale != nil {
		r.add(Failure{RevocationUnknown, strings.Join(stale, "; ")})
	}
}

func staleText(l *crl, now time.Time) string {
	return fmt.Sprintf("%s (issuer %q) was due for renewal at %s, before %s",
		l.source, DN(l.list.RawIssuer), l.list.NextUpdate.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
}

// prescriptionIDs returns the short-form ID and the UUID of pertinentPrescription presc.
func prescriptionIDs(t *tree, presc int32) (short, uuid string) {
	for k, id := range t.hl7Children(presc, "id") {
		root, _ := t.attr(id, "root")
		if k == 0 {
			uuid = root
		}
		if root == "2.16.840.1.113883.2.1.3.2.4.18.8" {
			short, _ = t.attr(id, "extension")
		}
	}
	return short, uuid
}

// parseHL7Time reads an HL7 V3 TS: YYYYMMDD[HH[MM[SS[.fraction]]]][±HHMM]. A
// time without a zone is taken as UTC, as the EPS reads it (moment.utc).
func parseHL7Time(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("no value")
	}
	body, zone := s, ""
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		body, zone = s[:i], s[i:]
	}
	frac := ""
	if i := strings.IndexByte(body, '.'); i >= 0 {
		body, frac = body[:i], body[i+1:]
	}
	if len(body) < 8 || len(body) > 14 || len(body)%2 != 0 || !allDigits(body) || !allDigits(frac) || frac != "" && len(body) != 14 {
		return time.Time{}, fmt.Errorf("%q is not an HL7 timestamp", s)
	}
	num := func(a, b int) int {
		if len(body) < b {
			return 0
		}
		n, _ := strconv.Atoi(body[a:b])
		return n
	}
	y, mo, d, h, mi, sec := num(0, 4), num(4, 6), num(6, 8), num(8, 10), num(10, 12), num(12, 14)
	if y < 1900 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 {
		return time.Time{}, fmt.Errorf("%q is not an HL7 timestamp", s)
	}
	ns := 0
	if frac != "" {
		f := (frac + "000000000")[:9]
		ns, _ = strconv.Atoi(f)
	}
	loc := time.UTC
	if zone != "" {
		if len(zone) != 5 || !allDigits(zone[1:]) {
			return time.Time{}, fmt.Errorf("%q has a bad time zone", s)
		}
		zh, _ := strconv.Atoi(zone[1:3])
		zm, _ := strconv.Atoi(zone[3:5])
		if zh > 14 || zm > 59 {
			return time.Time{}, fmt.Errorf("%q has a bad time zone", s)
		}
		off := zh*3600 + zm*60
		if zone[0] == '-' {
			off = -off
		}
		loc = time.FixedZone(zone, off)
	}
	tm := time.Date(y, time.Month(mo), d, h, mi, sec, ns, loc)
	if tm.Day() != d {
		return time.Time{}, fmt.Errorf("%q is not a date", s)
	}
	return tm.UTC(), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
