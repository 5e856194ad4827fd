package signature

import (
	"strings"

	"github.com/openeps/openeps/internal/epserr"
)

// Reason is one way a prescription's signature can fail, in the order the
// EPS checks them (EPS-API signature-verification.ts; spec hl7v3.md §7.4).
// The first five stop verification; the rest are all collected.
type Reason int

const (
	// NotFound: no XML-DSig Signature in author/signatureText. The Spine
	// refuses such a prescription with 17.22/0003 (XSLT SignatureCheck).
	NotFound Reason = iota + 1
	// InvalidFormat: SignedInfo, SignatureValue or the certificate missing,
	// an unsupported canonicalisation, or a prescription whose signed parts
	// cannot be found.
	InvalidFormat
	// MultipleCertificates: more than one certificate in KeyInfo.
	MultipleCertificates
	// InvalidCertificate: the certificate does not parse.
	InvalidCertificate
	// UnsuitableKey: not an RSA key of at least 1024 bits, or a key usage
	// that excludes signing.
	UnsuitableKey
	// SignatureInvalid: SignatureValue does not verify over SignedInfo.
	SignatureInvalid
	// DigestMismatch: SignedInfo is not the one the prescription's own
	// fragments give (the DigestValue, or the algorithms, differ).
	DigestMismatch
	// CertificateRevoked: the certificate is on its issuer's CRL.
	CertificateRevoked
	// CARevoked: a CA certificate of the chain is on its issuer's ARL.
	CARevoked
	// ExpiredWhenSigned: the signing time (author/time) is outside the
	// certificate's validity.
	ExpiredWhenSigned
	// NotTrusted: no chain to a configured trust anchor.
	NotTrusted
	// RevocationUnknown: a CRL that applies is past its nextUpdate at
	// VerifyOptions.Now. An openeps addition: the EPS fetches CRLs live.
	RevocationUnknown
)

type reasonInfo struct {
	name, text, code string
}

var reasons = [...]reasonInfo{
	NotFound:             {"signature-not-found", "Digital Signature not found", "0003"},
	InvalidFormat:        {"invalid-format", "Invalid signature format", "0101"},
	MultipleCertificates: {"multiple-certificates", "Multiple certificates detected", "0102"},
	InvalidCertificate:   {"invalid-certificate", "Invalid certificate", "0103"},
	UnsuitableKey:        {"unsuitable-key", "Certificate key not usable for signing", "0104"},
	SignatureInvalid:     {"signature-invalid", "Signature is invalid", "0105"},
	DigestMismatch:       {"digest-mismatch", "Signature doesn't match prescription", "0106"},
	CertificateRevoked:   {"certificate-revoked", "Certificate is revoked", "0107"},
	CARevoked:            {"ca-revoked", "CA certificate is revoked", "0108"},
	ExpiredWhenSigned:    {"expired-when-signed", "Certificate expired when signed", "0109"},
	NotTrusted:           {"not-trusted", "Certificate not trusted", "0110"},
	RevocationUnknown:    {"revocation-unknown", "Certificate revocation status unknown", "0111"},
}

func (r Reason) info() reasonInfo {
	if r < NotFound || int(r) >= len(reasons) {
		return reasonInfo{"unknown", "Unknown signature failure", "0100"}
	}
	return reasons[r]
}

// Name is the stable machine name ("signature-invalid").
func (r Reason) Name() string { return r.info().name }

// Text is the human text, the EPS's own where it has one ("Signature is invalid").
func (r Reason) Text() string { return r.info().text }

func (r Reason) String() string { return r.Name() }

// SystemSignatureCheck is the openeps code system for signature check
// outcomes: an OID under 2.25 (derived from a UUID, ITU-T X.667), because
// the EPS publishes no code per failure. Code 0003 repeats the Spine's
// "Digital Signature not found" (17.22/0003) so the two read alike.
const SystemSignatureCheck = "2.25.327544408270456573592634943568867417842"

// Code is r's distinct code in SystemSignatureCheck, for logs, the
// prescription's history and tools. What goes on the wire is WireCode.
func (r Reason) Code() epserr.Code {
	i := r.info()
	return epserr.Code{System: SystemSignatureCheck, Value: i.code, Display: i.text}
}

// WireCode is the EPS code for refusing a prescription with this failure on
// receipt: a missing signature is the Spine's own 17.22/0003; every other
// failure is 16.34/5000 "Unable to process message" with the failure's text,
// the Spine's way of naming a fault it has no code for.
func (r Reason) WireCode() epserr.Code {
	if r == NotFound {
		return epserr.SignatureNotFound
	}
	return epserr.UnableToProcess.With(r.Text())
}

// ReturnReasonInvalidSignature is the reason a dispenser gives in a Dispense
// Proposal Return (PORX_IN100101) for a prescription whose signature fails:
// 0005 "Invalid digital signature" in 2.16.840.1.113883.2.1.3.2.4.16.28
// (spec hl7v3.md §7.5).
var ReturnReasonInvalidSignature = epserr.Code{
	System:  "2.16.840.1.113883.2.1.3.2.4.16.28",
	Value:   "0005",
	Display: "Invalid digital signature",
}

// Failure is one failed check with what was found.
type Failure struct {
	Reason Reason
	Detail string
}

func fail(r Reason, detail string) *Failure { return &Failure{Reason: r, Detail: detail} }

// Error gives "Signature is invalid: detail".
func (f Failure) Error() string {
	if f.Detail == "" {
		return f.Reason.Text()
	}
	return f.Reason.Text() + ": " + f.Detail
}

// Err returns f as an *epserr.Error carrying its wire code.
func (f Failure) Err() *epserr.Error {
	kind := epserr.KindInvalid
	if f.Reason == NotFound {
		kind = epserr.KindBusiness
	}
	return &epserr.Error{Op: "verify signature", Kind: kind, Code: f.Reason.WireCode(), Detail: f.Detail}
}

// joinFailures renders failures as "text (name): detail; …".
func joinFailures(fs []Failure) string {
	var b strings.Builder
	for k, f := range fs {
		if k > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Reason.Text())
		b.WriteString(" [")
		b.WriteString(f.Reason.Name())
		b.WriteString(" ")
		b.WriteString(f.Reason.Code().Value)
		b.WriteString("]")
		if f.Detail != "" {
			b.WriteString(": ")
			b.WriteString(f.Detail)
		}
	}
	return b.String()
}
