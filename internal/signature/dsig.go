package signature

import (
	"crypto"
	"encoding/base64"
	"fmt"
	"strings"

	// Register the hashes the signature methods name.
	_ "crypto/sha1"
	_ "crypto/sha256"
)

// Algorithm is a signature algorithm the EPS uses: RSA PKCS#1 v1.5 with SHA-1
// (what NHS smartcard software has long produced) or SHA-256.
type Algorithm int

const (
	SHA1 Algorithm = iota + 1
	SHA256
)

// Algorithm identifiers as the EPS writes them (EPS-API translation/request/index.ts).
const (
	AlgExcC14N             = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algExcC14NWithComments = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
	AlgRSASHA1             = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	AlgRSASHA256           = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	AlgSHA1                = "http://www.w3.org/2000/09/xmldsig#sha1"
	AlgSHA256              = "http://www.w3.org/2001/04/xmlenc#sha256"
)

func (a Algorithm) String() string {
	switch a {
	case SHA1:
		return "RSA-SHA1"
	case SHA256:
		return "RSA-SHA256"
	}
	return fmt.Sprintf("Algorithm(%d)", int(a))
}

// Hash returns the digest function of a.
func (a Algorithm) Hash() crypto.Hash {
	if a == SHA256 {
		return crypto.SHA256
	}
	return crypto.SHA1
}

// SignatureMethod returns a's SignatureMethod URI.
func (a Algorithm) SignatureMethod() string {
	if a == SHA256 {
		return AlgRSASHA256
	}
	return AlgRSASHA1
}

// DigestMethod returns a's DigestMethod URI.
func (a Algorithm) DigestMethod() string {
	if a == SHA256 {
		return AlgSHA256
	}
	return AlgSHA1
}

// ParseAlgorithm reads "sha1"/"rsa-sha1" or "sha256"/"rsa-sha256" (any case).
func ParseAlgorithm(s string) (Algorithm, error) {
	switch strings.ToLower(strings.TrimPrefix(strings.ToLower(s), "rsa-")) {
	case "sha1", "sha-1":
		return SHA1, nil
	case "sha256", "sha-256":
		return SHA256, nil
	}
	return 0, fmt.Errorf("unknown signature algorithm %q (want sha1 or sha256)", s)
}

// signatureMethodHash is how the EPS picks the hash for checking
// SignatureValue: rsa-sha256 means SHA-256, anything else SHA-1
// (signature-verification.ts extractSignatureMethodFromSignatureRoot).
func signatureMethodHash(uri string) Algorithm {
	if i := strings.Index(uri, "rsa-sha"); i >= 0 {
		rest := uri[i+len("rsa-sha"):]
		j := 0
		for j < len(rest) && isWordByte(rest[j]) {
			j++
		}
		if rest[:j] == "256" {
			return SHA256
		}
	}
	return SHA1
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// digestMethodAlgorithm is how the EPS picks the digest: the SHA-256 URI
// means SHA-256, anything else SHA-1 (hashingAlgorithm.ts).
func digestMethodAlgorithm(uri string) Algorithm {
	if uri == AlgSHA256 {
		return SHA256
	}
	return SHA1
}

// dsig is a parsed ds:Signature.
type dsig struct {
	signature    int32
	signedInfo   int32
	c14nMethod   string
	sigMethod    string
	references   int
	transforms   []string // of the one Reference
	digestMethod string
	digestValue  string // as written
	sigValue     string // as written
	certs        []string
}

// parseDSig reads the one ds:Signature in signatureText st. A missing
// signature is reported as such (the Spine's "Digital Signature not found");
// a signature without the pieces verification needs is a format failure.
func parseDSig(t *tree, st int32) (*dsig, *Failure) {
	if st == none {
		return nil, fail(NotFound, "author has no signatureText")
	}
	sigs := t.dsigChildren(st, "Signature")
	switch len(sigs) {
	case 0:
		if v, ok := t.attr(st, "nullFlavor"); ok {
			return nil, fail(NotFound, "signatureText is nullFlavor="+v)
		}
		return nil, fail(NotFound, "signatureText holds no XML-DSig Signature")
	case 1:
	default:
		return nil, fail(NotFound, fmt.Sprintf("signatureText holds %d Signature elements, expected one", len(sigs)))
	}
	d := &dsig{signature: sigs[0]}
	si := t.dsigChildren(d.signature, "SignedInfo")
	if len(si) != 1 {
		return nil, fail(InvalidFormat, fmt.Sprintf("Signature has %d SignedInfo elements, expected one", len(si)))
	}
	d.signedInfo = si[0]
	sv := t.dsigChildren(d.signature, "SignatureValue")
	if len(sv) != 1 || strings.TrimSpace(t.textOf(sv[0])) == "" {
		return nil, fail(InvalidFormat, "Signature has no SignatureValue")
	}
	d.sigValue = t.textOf(sv[0])
	for _, ki := range t.dsigChildren(d.signature, "KeyInfo") {
		for _, xd := range t.dsigChildren(ki, "X509Data") {
			for _, xc := range t.dsigChildren(xd, "X509Certificate") {
				d.certs = append(d.certs, t.textOf(xc))
			}
		}
	}
	if len(d.certs) == 0 || len(d.certs) == 1 && strings.TrimSpace(d.certs[0]) == "" {
		return nil, fail(InvalidFormat, "Signature has no KeyInfo/X509Data/X509Certificate")
	}

	if m := t.dsigChildren(d.signedInfo, "CanonicalizationMethod"); len(m) == 1 {
		d.c14nMethod, _ = t.attr(m[0], "Algorithm")
	}
	if d.c14nMethod != AlgExcC14N && d.c14nMethod != algExcC14NWithComments {
		return nil, fail(InvalidFormat, fmt.Sprintf("unsupported CanonicalizationMethod %q", d.c14nMethod))
	}
	if m := t.dsigChildren(d.signedInfo, "SignatureMethod"); len(m) == 1 {
		d.sigMethod, _ = t.attr(m[0], "Algorithm")
	}
	refs := t.dsigChildren(d.signedInfo, "Reference")
	d.references = len(refs)
	if len(refs) == 0 {
		return nil, fail(InvalidFormat, "SignedInfo has no Reference")
	}
	ref := refs[0]
	for _, tr := range t.dsigChildren(ref, "Transforms") {
		for _, x := range t.dsigChildren(tr, "Transform") {
			a, _ := t.attr(x, "Algorithm")
			d.transforms = append(d.transforms, a)
		}
	}
	if m := t.dsigChildren(ref, "DigestMethod"); len(m) == 1 {
		d.digestMethod, _ = t.attr(m[0], "Algorithm")
	}
	dv := t.dsigChildren(ref, "DigestValue")
	if len(dv) != 1 {
		return nil, fail(InvalidFormat, "Reference has no DigestValue")
	}
	d.digestValue = t.textOf(dv[0])
	return d, nil
}

// canonicalSignedInfo returns SignedInfo canonicalised. eps true gives the
// form the EPS signs (whitespace-only text dropped, as its xml-js reader
// does); false the strict XML-DSig reading, whitespace kept.
func (d *dsig) canonicalSignedInfo(t *tree, eps bool, buf []byte) []byte {
	c := canonicaliser{t: t, epsMode: eps, buf: buf}
	c.writeElement(d.signedInfo, 0)
	return c.buf
}

// hasSpace reports whether SignedInfo holds whitespace-only text, that is,
// whether the strict reading differs from the EPS one.
func (d *dsig) hasSpace(t *tree) bool {
	var walk func(i int32) bool
	walk = func(i int32) bool {
		for c := t.nodes[i].first; c != none; c = t.nodes[c].next {
			n := &t.nodes[c]
			if n.kind == textNode && strings.TrimSpace(n.text) == "" || n.kind == elemNode && walk(c) {
				return true
			}
		}
		return false
	}
	return walk(d.signedInfo)
}

// decodeBase64 decodes base64 text that may be wrapped with spaces, tabs and
// line ends (the SHA-256 vector wraps it with &#13; line ends).
func decodeBase64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(stripSpace(s))
}

// stripSpace removes XML white space from s.
func stripSpace(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
}
