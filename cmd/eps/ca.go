package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/openeps/openeps/internal/pki"
)

func init() {
	register(command{
		name:    "ca",
		summary: "a test certificate authority: smartcard certificates, revocation, CRLs",
		run:     runCA,
	})
}

func caUsage(w io.Writer) {
	fmt.Fprintln(w, `Usage: eps ca <init|issue|revoke|crl|list> --dir D [flags]

A small CA for tests and demonstrations, shaped like the NHS smartcard PKI:
a root, an issuing CA, RSA-2048 smartcard certificates, a CRL and an ARL.
D is also a trust directory: eps serve --trust-dir D and
eps signature verify --trust-dir D read it as it stands.

  init    create the root and issuing CA in D
  issue   issue a certificate and key: --name "Dr A Smith" --role prescriber|dispenser
  revoke  revoke a certificate (--serial HEX, the issuing CA's serial revokes it) and publish the CRLs
  crl     publish fresh CRLs
  list    list the certificates issued

Run 'eps ca <subcommand> -h' for its flags.`)
}

func runCA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		caUsage(stderr)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "init":
		return runCAInit(args, stdout, stderr)
	case "issue":
		return runCAIssue(args, stdout, stderr)
	case "revoke":
		return runCARevoke(args, stdout, stderr)
	case "crl":
		return runCACRL(args, stdout, stderr)
	case "list":
		return runCAList(args, stdout, stderr)
	}
	fmt.Fprintf(stderr, "eps ca: unknown subcommand %q\n\n", sub)
	caUsage(stderr)
	return errUsage
}

// timeFlag parses an optional RFC 3339 time; empty means now.
func timeFlag(name, v string) (time.Time, error) {
	if v == "" {
		return time.Now(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s: %w", name, err)
	}
	return t, nil
}

func needDir(dir, cmd string, stderr io.Writer) error {
	if dir == "" {
		fmt.Fprintf(stderr, "eps ca %s: --dir is required\n", cmd)
		return errUsage
	}
	return nil
}

func runCAInit(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ca init", stderr)
	dir := fs.String("dir", "", "directory for the CA (created)")
	org := fs.String("org", "openeps", "organisation (O=) of every certificate")
	crlURL := fs.String("crl-url", "http://crl.openeps.invalid", "base URL the certificates name as CRL distribution point")
	years := fs.Int("years", 10, "validity of the root, in years")
	crlDays := fs.Int("crl-days", 30, "validity of each published CRL, in days")
	now := fs.String("now", "", "start of validity, RFC 3339 (default: now)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := needDir(*dir, "init", stderr); err != nil {
		return err
	}
	at, err := timeFlag("now", *now)
	if err != nil {
		return err
	}
	ca, err := pki.Init(*dir, pki.InitOptions{Org: *org, CRLBase: *crlURL, Years: *years, CRLDays: *crlDays, Now: at})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "root CA     %s  %s\n", ca.RootCert.Subject, filepath.Join(*dir, pki.RootCertFile))
	fmt.Fprintf(stdout, "issuing CA  %s  %s (serial %s)\n", ca.IntCert.Subject, filepath.Join(*dir, pki.IntermediateCertFile), pki.SerialHex(ca.IntCert.SerialNumber))
	fmt.Fprintf(stdout, "CRLs        %s, %s\n", filepath.Join(*dir, pki.RootCRLFile), filepath.Join(*dir, pki.IntermediateCRLFile))
	return nil
}

func runCAIssue(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ca issue", stderr)
	dir := fs.String("dir", "", "the CA directory")
	name := fs.String("name", "", `the holder's name, e.g. "Dr A Smith"`)
	role := fs.String("role", pki.RolePrescriber, "prescriber (signing certificate) or dispenser (authentication certificate)")
	uid := fs.String("uid", "", "SDS user ID (12 digits) for the common name (default: random 555…)")
	days := fs.Int("days", 730, "validity in days")
	now := fs.String("now", "", "start of validity, RFC 3339 (default: now)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := needDir(*dir, "issue", stderr); err != nil {
		return err
	}
	if *name == "" {
		fmt.Fprintln(stderr, "eps ca issue: --name is required")
		return errUsage
	}
	at, err := timeFlag("now", *now)
	if err != nil {
		return err
	}
	is, err := pki.Issue(*dir, *name, *role, pki.IssueOptions{UserID: *uid, Days: *days, Now: at})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "serial      %s\n", pki.SerialHex(is.Cert.SerialNumber))
	fmt.Fprintf(stdout, "subject     %s (%s)\n", is.Cert.Subject, *role)
	fmt.Fprintf(stdout, "valid       %s to %s\n", is.Cert.NotBefore.UTC().Format(time.RFC3339), is.Cert.NotAfter.UTC().Format(time.RFC3339))
	fmt.Fprintf(stdout, "certificate %s\n", is.CertPath)
	fmt.Fprintf(stdout, "key         %s\n", is.KeyPath)
	return nil
}

func runCARevoke(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ca revoke", stderr)
	dir := fs.String("dir", "", "the CA directory")
	serial := fs.String("serial", "", "serial number (hex) of the certificate to revoke")
	reason := fs.String("reason", "unspecified", "CRL reason: keyCompromise, cACompromise, superseded, cessationOfOperation, …")
	at := fs.String("at", "", "revocation time, RFC 3339 (default: now)")
	now := fs.String("now", "", "thisUpdate of the CRLs published, RFC 3339 (default: now)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := needDir(*dir, "revoke", stderr); err != nil {
		return err
	}
	if *serial == "" {
		fmt.Fprintln(stderr, "eps ca revoke: --serial is required")
		return errUsage
	}
	code, err := pki.ParseReason(*reason)
	if err != nil {
		return err
	}
	when, err := timeFlag("at", *at)
	if err != nil {
		return err
	}
	ca, err := pki.Open(*dir)
	if err != nil {
		return err
	}
	if err := ca.Revoke(*serial, code, when); err != nil {
		return err
	}
	pub, err := timeFlag("now", *now)
	if err != nil {
		return err
	}
	if err := ca.PublishCRL(pub); err != nil {
		return err
	}
	rec, _ := ca.Find(*serial)
	fmt.Fprintf(stdout, "revoked %s %s (%s) at %s; CRLs published\n", rec.Serial, rec.Subject, *reason, rec.Revoked.At.Format(time.RFC3339))
	return nil
}

func runCACRL(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ca crl", stderr)
	dir := fs.String("dir", "", "the CA directory")
	now := fs.String("now", "", "thisUpdate of the CRLs, RFC 3339 (default: now)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := needDir(*dir, "crl", stderr); err != nil {
		return err
	}
	at, err := timeFlag("now", *now)
	if err != nil {
		return err
	}
	ca, err := pki.Open(*dir)
	if err != nil {
		return err
	}
	if err := ca.PublishCRL(at); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "published %s (number %d) and %s (number %d), next update %s\n",
		filepath.Join(*dir, pki.RootCRLFile), ca.State.RootCRLNum,
		filepath.Join(*dir, pki.IntermediateCRLFile), ca.State.IntCRLNum,
		at.UTC().AddDate(0, 0, ca.State.CRLDays).Format(time.RFC3339))
	return nil
}

func runCAList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ca list", stderr)
	dir := fs.String("dir", "", "the CA directory")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := needDir(*dir, "list", stderr); err != nil {
		return err
	}
	ca, err := pki.Open(*dir)
	if err != nil {
		return err
	}
	for _, r := range ca.State.Issued {
		status := "valid"
		if r.Revoked != nil {
			status = "revoked " + r.Revoked.At.Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "%-17s %-10s %-25s %s  %s\n", r.Serial, r.Role, status, r.NotAfter.Format("2006-01-02"), r.Subject)
	}
	return nil
}
