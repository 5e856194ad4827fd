// Package signature verifies and makes the advanced electronic signature of
// an EPS prescription (../shared/spec/hl7v3.md §7), the way the Spine's
// verifier (NHSDigital/electronic-prescription-service-api,
// services/verification/signature-verification.ts) does.
//
// # What is signed
//
// The ds:Signature in pertinentPrescription/author/signatureText does not
// sign the message. Its one Reference has no URI: the digest is over a
// document rebuilt from the prescription, FragmentsToBeHashed, made of
// author/time and the prescription UUID, author/AgentPerson, recordTarget,
// and each pertinentLineItem without its item status and repeatNumber/low,
// every piece in the HL7 namespace, canonicalised with exclusive C14N after
// the EPS's own round trip through xml-js (see c14n.go for what that changes).
// SignatureValue is RSA PKCS#1 v1.5 (SHA-1 or SHA-256) over SignedInfo, as
// the EPS canonicalises it: white space between its elements dropped.
//
// # Verifying
//
//	ts, err := signature.LoadTrustDir(dir)            // or OpenTrustDir / WatchTrustDir to reload
//	r := signature.Verify(msg, ts, signature.VerifyOptions{Now: now})
//	if !r.Valid() { … r.Failures, r.Err() … }
//	rs, err := signature.VerifyAll(releaseResponse, ts, opts) // one Result per prescription
//
// Failures come in the EPS's order with a stable name, the EPS's text and a
// distinct code (Reason.Code, in SystemSignatureCheck); Reason.WireCode is
// what to put in an acknowledgement on refusing a prescription (17.22/0003
// for a missing signature, 16.34/5000 with the text otherwise), and
// ReturnReasonInvalidSignature (16.28/0005) what a dispenser puts in the
// Dispense Proposal Return. Certificate validity is judged at the signing
// time the prescription states; CRL freshness at VerifyOptions.Now; there is
// no other clock.
//
// Verify reads the message with internal/xmlt (no DTDs, bounded depth and
// size) and keeps only the signed parts. It needs no earlier decoding: a
// decoded hl7v3 ParentPrescription would not save the parse, because the
// typed value keeps schema order and the digest depends on the order and
// exact text the sender wrote.
//
// # Signing
//
//	signed, err := signature.Sign(msg, key, cert, signature.SHA256)
//
// Sign produces the same structure as the EPS and the real signed
// prescriptions (SetSigningTime sets author/time first). internal/pki and
// `eps ca` make test credentials.
//
// # Trust
//
// A TrustStore holds anchors (roots or sub-CAs: like the EPS, which trusts
// the sub-CA certificates it is configured with, an anchor need not be
// self-signed), intermediates and CRLs/ARLs. A revoked certificate taints
// signatures made at or after its revocation, or any signature if revoked
// for keyCompromise, cACompromise or aACompromise (EPS-API
// certificate-revocation/verify.ts).
package signature
