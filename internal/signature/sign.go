package signature

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sign returns prescription with author/signatureText holding a new XML-DSig
// signature made with key, in the shape the EPS produces and the real
// prescriptions carry (spec hl7v3.md §7.1; EPS-API prepare/process):
//
//	<signatureText>
//	  <Signature xmlns="http://www.w3.org/2000/09/xmldsig#">
//	    <SignedInfo>
//	      <CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
//	      <SignatureMethod Algorithm="…rsa-sha1 or …rsa-sha256"/>
//	      <Reference>
//	        <Transforms><Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></Transforms>
//	        <DigestMethod Algorithm="…sha1 or …sha256"/>
//	        <DigestValue>base64 digest of FragmentsToBeHashed</DigestValue>
//	      </Reference>
//	    </SignedInfo>
//	    <SignatureValue>…</SignatureValue>
//	    <KeyInfo><X509Data><X509Certificate>…</X509Certificate></X509Data></KeyInfo>
//	  </Signature>
//	</signatureText>
//
// prescription is a PORX_IN020101 interaction or a ParentPrescription
// payload holding exactly one prescription. The signing time is the
// author/time already in it (the signature covers it): set it before
// signing. Any existing signatureText (a nullFlavor, an unsigned skeleton or
// an old signature) is replaced; if there is none, one is put after
// author/time. The rest of the document is kept byte for byte, and the new
// element is indented to match when the document is indented.
//
// key must be an RSA key whose public half is cert's; it signs with PKCS#1
// v1.5 (a crypto.Signer given a crypto.Hash does, smartcard middleware
// included).
func Sign(prescription []byte, key crypto.Signer, cert *x509.Certificate, alg Algorithm) ([]byte, error) {
	if alg != SHA1 && alg != SHA256 {
		return nil, fmt.Errorf("sign: unsupported algorithm %v", alg)
	}
	if cert == nil || key == nil {
		return nil, errors.New("sign: a key and a certificate are needed")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("sign: the certificate's key is %s; EPS signatures are RSA", cert.PublicKeyAlgorithm)
	}
	if kp, ok := key.Public().(*rsa.PublicKey); !ok || !kp.Equal(pub) {
		return nil, errors.New("sign: the key does not belong to the certificate")
	}
	t, err := parseSigned(prescription)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	pps := t.findAll("ParentPrescription")
	if len(pps) != 1 {
		return nil, fmt.Errorf("sign: the document holds %d ParentPrescription elements, expected one", len(pps))
	}
	p, err := locate(t, pps[0])
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if v, _ := t.attr(p.time, "value"); v != "" {
		if _, err := parseHL7Time(v); err != nil {
			return nil, fmt.Errorf("sign: author/time: %w", err)
		}
	} else {
		return nil, errors.New("sign: author/time has no value: set the signing time first")
	}

	h := alg.Hash().New()
	h.Write(p.fragments(t, nil))
	digest := base64.StdEncoding.EncodeToString(h.Sum(nil))

	signedInfo := canonicalSignedInfoFor(alg, digest)
	h = alg.Hash().New()
	h.Write(signedInfo)
	sig, err := key.Sign(rand.Reader, h.Sum(nil), alg.Hash())
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if err := rsa.VerifyPKCS1v15(pub, alg.Hash(), h.Sum(nil), sig); err != nil {
		return nil, errors.New("sign: the key made a signature its certificate does not verify (not PKCS#1 v1.5?)")
	}

	return splice(t, &p, signatureElement(t, &p, alg, digest, sig, cert.Raw)), nil
}

// canonicalSignedInfoFor is SignedInfo as the EPS builds and canonicalises
// it, the bytes SignatureValue is computed over.
func canonicalSignedInfoFor(alg Algorithm, digest string) []byte {
	var b bytes.Buffer
	b.WriteString(`<SignedInfo xmlns="` + nsDSig + `">`)
	b.WriteString(`<CanonicalizationMethod Algorithm="` + AlgExcC14N + `"></CanonicalizationMethod>`)
	b.WriteString(`<SignatureMethod Algorithm="` + alg.SignatureMethod() + `"></SignatureMethod>`)
	b.WriteString(`<Reference><Transforms><Transform Algorithm="` + AlgExcC14N + `"></Transform></Transforms>`)
	b.WriteString(`<DigestMethod Algorithm="` + alg.DigestMethod() + `"></DigestMethod>`)
	b.WriteString(`<DigestValue>` + digest + `</DigestValue></Reference></SignedInfo>`)
	return b.Bytes()
}

// signatureElement writes the new signatureText element, indented like its
// surroundings when the document is indented.
func signatureElement(t *tree, p *parts, alg Algorithm, digest string, sig, cert []byte) []byte {
	author := &t.nodes[p.author]
	name := "signatureText"
	if author.name.Prefix != "" {
		name = author.name.Prefix + ":" + name
	}
	// The indentation of the line the author's first child (or author
	// itself) starts on; "" when the document is not indented.
	anchor := p.time
	if p.signatureText != none {
		anchor = p.signatureText
	}
	ind, step := lineIndent(t.src, int(t.nodes[anchor].startTag)), ""
	nl := ""
	if ind != "" || precededByNewline(t.src, int(t.nodes[anchor].startTag)) {
		nl, step = "\n", "  "
	}
	line := func(b *bytes.Buffer, level int, s string) {
		b.WriteString(nl)
		b.WriteString(ind)
		b.WriteString(strings.Repeat(step, level))
		b.WriteString(s)
	}
	var b bytes.Buffer
	b.WriteString("<" + name + ">")
	line(&b, 1, `<Signature xmlns="`+nsDSig+`">`)
	line(&b, 2, `<SignedInfo>`)
	line(&b, 3, `<CanonicalizationMethod Algorithm="`+AlgExcC14N+`"/>`)
	line(&b, 3, `<SignatureMethod Algorithm="`+alg.SignatureMethod()+`"/>`)
	line(&b, 3, `<Reference>`)
	line(&b, 4, `<Transforms>`)
	line(&b, 5, `<Transform Algorithm="`+AlgExcC14N+`"/>`)
	line(&b, 4, `</Transforms>`)
	line(&b, 4, `<DigestMethod Algorithm="`+alg.DigestMethod()+`"/>`)
	line(&b, 4, `<DigestValue>`+digest+`</DigestValue>`)
	line(&b, 3, `</Reference>`)
	line(&b, 2, `</SignedInfo>`)
	line(&b, 2, `<SignatureValue>`+base64.StdEncoding.EncodeToString(sig)+`</SignatureValue>`)
	line(&b, 2, `<KeyInfo>`)
	line(&b, 3, `<X509Data>`)
	line(&b, 4, `<X509Certificate>`+base64.StdEncoding.EncodeToString(cert)+`</X509Certificate>`)
	line(&b, 3, `</X509Data>`)
	line(&b, 2, `</KeyInfo>`)
	line(&b, 1, `</Signature>`)
	line(&b, 0, "</"+name+">")
	return b.Bytes()
}

// splice puts elem in place of the signatureText element, or after
// author/time when there is none.
func splice(t *tree, p *parts, elem []byte) []byte {
	src := t.src
	var out bytes.Buffer
	out.Grow(len(src) + len(elem))
	if p.signatureText != none {
		n := &t.nodes[p.signatureText]
		out.WriteString(src[:n.startTag])
		out.Write(elem)
		out.WriteString(src[n.endTagEnd:])
		return out.Bytes()
	}
	tm := &t.nodes[p.time]
	at := int(tm.endTagEnd)
	out.WriteString(src[:at])
	if ind := lineIndent(src, int(tm.startTag)); ind != "" || precededByNewline(src, int(tm.startTag)) {
		out.WriteString("\n" + ind)
	}
	out.Write(elem)
	out.WriteString(src[at:])
	return out.Bytes()
}

// lineIndent returns the spaces and tabs between the last line end before
// off and off, or "" if anything else is in between.
func lineIndent(src string, off int) string {
	i := off
	for i > 0 && (src[i-1] == ' ' || src[i-1] == '\t') {
		i--
	}
	if i > 0 && src[i-1] == '\n' {
		return src[i:off]
	}
	return ""
}

func precededByNewline(src string, off int) bool {
	i := off
	for i > 0 && (src[i-1] == ' ' || src[i-1] == '\t') {
		i--
	}
	return i > 0 && src[i-1] == '\n'
}

// SetSigningTime returns prescription with author/time set to t (written in
// UTC, YYYYMMDDHHMMSS, which is how the verifier reads a time without a
// zone). Sign covers author/time, so set it first.
func SetSigningTime(prescription []byte, t time.Time) ([]byte, error) {
	tr, err := parseSigned(prescription)
	if err != nil {
		return nil, fmt.Errorf("set signing time: %w", err)
	}
	pps := tr.findAll("ParentPrescription")
	if len(pps) != 1 {
		return nil, fmt.Errorf("set signing time: the document holds %d ParentPrescription elements, expected one", len(pps))
	}
	p, err := locate(tr, pps[0])
	if err != nil {
		return nil, fmt.Errorf("set signing time: %w", err)
	}
	n := &tr.nodes[p.time]
	name := "time"
	if n.name.Prefix != "" {
		name = n.name.Prefix + ":time"
	}
	var out bytes.Buffer
	out.WriteString(tr.src[:n.startTag])
	out.WriteString("<" + name + ` value="` + t.UTC().Format("20060102150405") + `"/>`)
	out.WriteString(tr.src[n.endTagEnd:])
	return out.Bytes(), nil
}
