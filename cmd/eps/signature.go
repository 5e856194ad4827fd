package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/openeps/openeps/internal/pki"
	"github.com/openeps/openeps/internal/signature"
)

func init() {
	register(command{
		name:    "signature",
		summary: "verify or make the advanced electronic signature of a prescription",
		run:     runSignature,
	})
}

func signatureUsage(w io.Writer) {
	fmt.Fprintln(w, `Usage:
  eps signature verify [--trust-dir D] [--now T] [-v] FILE...
  eps signature sign --key KEY --cert CERT [--alg sha1|sha256] [--signing-time T|now] IN OUT

verify checks each prescription in each file (a PORX_IN020101 message, a bare
ParentPrescription, or a release response with several) as the Spine does and
prints "valid" or "invalid: <failures with their codes>"; exit status 1 if any
is invalid. Without --trust-dir the signature, the digest and the validity at
the signing time are checked, but not the certificate chain or revocation.

sign signs IN with an RSA key and its certificate (PEM, as eps ca issue writes
them) and writes OUT.`)
}

func runSignature(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		signatureUsage(stderr)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "verify":
		return runSignatureVerify(args[1:], stdout, stderr)
	case "sign":
		return runSignatureSign(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "eps signature: unknown subcommand %q\n\n", args[0])
	signatureUsage(stderr)
	return errUsage
}

func runSignatureVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("signature verify", stderr)
	trustDir := fs.String("trust-dir", "", "trust directory (roots/, intermediates/, crls/), e.g. one made by eps ca init")
	now := fs.String("now", "", "judge CRL freshness at this RFC 3339 time (default: now)")
	verbose := fs.Bool("v", false, "also print the signer, the chain and notes")
	fs.Usage = func() { signatureUsage(stderr); fmt.Fprintln(stderr); fs.PrintDefaults() }
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fs.Usage()
		return errUsage
	}
	at, err := timeFlag("now", *now)
	if err != nil {
		return err
	}
	var ts *signature.TrustStore
	if *trustDir != "" {
		if ts, err = signature.LoadTrustDir(*trustDir); err != nil {
			return err
		}
	}
	opts := signature.VerifyOptions{Now: at}
	invalid := false
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		results, err := signature.VerifyAll(b, ts, opts)
		if err != nil {
			// Not XML, or no prescription: say so the way Verify would.
			r := signature.Verify(b, ts, opts)
			results = []signature.Result{r}
		}
		for _, r := range results {
			var prefix []string
			if len(files) > 1 {
				prefix = append(prefix, name)
			}
			if len(results) > 1 && r.PrescriptionID != "" {
				prefix = append(prefix, r.PrescriptionID)
			}
			line := verdictLine(r)
			if len(prefix) > 0 {
				line = strings.Join(prefix, " ") + ": " + line
			}
			fmt.Fprintln(stdout, line)
			if *verbose {
				printDetails(stdout, r)
			}
			if !r.Valid() {
				invalid = true
			}
		}
	}
	if invalid {
		return exitError{code: 1}
	}
	return nil
}

// verdictLine is "valid", "valid (… not checked …)" or "invalid: …".
func verdictLine(r signature.Result) string {
	if r.Valid() && !r.TrustChecked {
		return "valid (certificate chain and revocation not checked: no --trust-dir)"
	}
	return r.String()
}

func printDetails(w io.Writer, r signature.Result) {
	if r.PrescriptionID != "" {
		fmt.Fprintf(w, "  prescription %s (%s)\n", r.PrescriptionID, r.PrescriptionUUID)
	}
	if !r.SignedAt.IsZero() {
		fmt.Fprintf(w, "  signed       %s, %s\n", r.SignedAt.Format(time.RFC3339), r.Algorithm)
	}
	for k, c := range r.Chain {
		label := "  issuer      "
		if k == 0 {
			label = "  signer      "
		}
		fmt.Fprintf(w, "%s %s (serial %s, valid %s to %s)\n", label, signature.DN(c.RawSubject), pki.SerialHex(c.SerialNumber),
			c.NotBefore.UTC().Format("2006-01-02"), c.NotAfter.UTC().Format("2006-01-02"))
	}
	for _, f := range r.Failures {
		wc := f.Reason.WireCode()
		fmt.Fprintf(w, "  failure      %s; on the wire %s/%s\n", f.Error(), wc.System, wc.Value)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note         %s\n", n)
	}
}

func runSignatureSign(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("signature sign", stderr)
	keyPath := fs.String("key", "", "RSA private key, PEM (PKCS#8 or PKCS#1)")
	certPath := fs.String("cert", "", "the key's certificate, PEM")
	alg := fs.String("alg", "sha1", "sha1 (RSA-SHA1, what the EPS has long used) or sha256")
	signingTime := fs.String("signing-time", "", `set author/time first: "now" or an RFC 3339 time (default: keep the message's)`)
	fs.Usage = func() { signatureUsage(stderr); fmt.Fprintln(stderr); fs.PrintDefaults() }
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 2 || *keyPath == "" || *certPath == "" {
		fs.Usage()
		return errUsage
	}
	in, outPath := files[0], files[1]
	a, err := signature.ParseAlgorithm(*alg)
	if err != nil {
		return err
	}
	key, err := pki.ReadKey(*keyPath)
	if err != nil {
		return err
	}
	cert, err := pki.ReadCert(*certPath)
	if err != nil {
		return err
	}
	msg, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	if *signingTime != "" {
		t := time.Now()
		if *signingTime != "now" {
			if t, err = time.Parse(time.RFC3339, *signingTime); err != nil {
				return fmt.Errorf("--signing-time: %w", err)
			}
		}
		if msg, err = signature.SetSigningTime(msg, t); err != nil {
			return err
		}
	}
	out, err := signature.Sign(msg, key, cert, a)
	if err != nil {
		return err
	}
	if err := os.WriteFile(outPath, out, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signed %s with %s (%s), wrote %s\n", in, signature.DN(cert.RawSubject), a, outPath)
	return nil
}

// parseInterspersed parses flags that may come before or after the
// positional arguments (eps signature verify FILE --trust-dir D), and
// returns the positional ones. After "--" everything is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		consumed := len(args) - fs.NArg()
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, fs.Args()...), nil
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
