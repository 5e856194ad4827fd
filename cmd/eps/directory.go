package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/openeps/openeps/internal/directory"
	"github.com/openeps/openeps/internal/store/storeopen"
)

func init() {
	register(command{
		name:    "directory",
		summary: "the parties `eps serve` knows (an SDS stand-in): directory add|list|remove|import",
		run:     runDirectory,
	})
}

func directoryUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage:")
	fmt.Fprintln(w, "  eps directory add    --db DSN --key PARTYKEY [--asid A] [--ods O] [--endpoint URL] [--fqdn F]")
	fmt.Fprintln(w, "                       [--cpa-id ID]… [--role R]… [--interaction I]… [--retries N] [--retry-interval PT1M]")
	fmt.Fprintln(w, "                       [--persist-duration PT5M] [--sync-reply-mode MSHSignalsOnly] [--name N]")
	fmt.Fprintln(w, "  eps directory list   --db DSN [--json]")
	fmt.Fprintln(w, "  eps directory remove --db DSN --key PARTYKEY")
	fmt.Fprintln(w, "  eps directory import --db DSN (--routing routing.json [--reliability reliability.json] | --sds-endpoint bundle.json [--asid A])")
	fmt.Fprintln(w, "Entries take effect in a running `eps serve` on the same store at once.")
}

func runDirectory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		directoryUsage(stderr)
		return errUsage
	}
	sub, rest := args[0], args[1:]
	fs := newFlagSet("directory "+sub, stderr)
	db := fs.String("db", "sqlite:eps.db", "store: sqlite:PATH or postgres://…")
	switch sub {
	case "add":
		return directoryAdd(ctx, fs, db, rest, stdout)
	case "list":
		asJSON := fs.Bool("json", false, "one JSON object per entry")
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		return withDirectory(ctx, *db, func(d *directory.Directory) error {
			entries, err := d.List(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				enc := json.NewEncoder(stdout)
				for _, e := range entries {
					if err := enc.Encode(entryJSON(e)); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PARTY KEY\tASID\tODS\tENDPOINT\tCPA\tRETRIES\tINTERVAL\tSYNC REPLY")
			for _, e := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.PartyKey, orDash(e.ASID), orDash(e.ODS), orDash(e.Endpoint),
					orDash(strings.Join(e.CPAIds, ",")), e.Reliability.Retries, directory.FormatDuration(e.Reliability.RetryInterval),
					orDash(e.Reliability.SyncReplyMode))
			}
			return tw.Flush()
		})
	case "remove":
		key := fs.String("key", "", "party key of the entry to remove")
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		if *key == "" {
			fmt.Fprintln(stderr, "eps directory remove: --key is required")
			return errUsage
		}
		return withDirectory(ctx, *db, func(d *directory.Directory) error {
			if err := d.Remove(ctx, *key); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "removed %s\n", *key)
			return nil
		})
	case "import":
		routing := fs.String("routing", "", "SDS routing lookup (routing.json: nhsMHSEndPoint, nhsMHSPartyKey, nhsMhsCPAId, …)")
		reliability := fs.String("reliability", "", "SDS reliability lookup (reliability.json)")
		endpoint := fs.String("sds-endpoint", "", "SDS FHIR API Endpoint search result (a Bundle)")
		asid := fs.String("asid", "", "the endpoint's ASID (the FHIR Endpoint does not carry it)")
		ods := fs.String("ods", "", "the organisation's ODS code, if the lookup lacks it")
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		var e directory.Entry
		switch {
		case *routing != "" && *endpoint == "":
			r, err := os.ReadFile(*routing)
			if err != nil {
				return err
			}
			var rel []byte
			if *reliability != "" {
				if rel, err = os.ReadFile(*reliability); err != nil {
					return err
				}
			}
			if e, err = directory.FromSDS(r, rel); err != nil {
				return err
			}
		case *endpoint != "" && *routing == "":
			b, err := os.ReadFile(*endpoint)
			if err != nil {
				return err
			}
			if e, err = directory.FromSDSFHIR(b, *asid); err != nil {
				return err
			}
		default:
			fmt.Fprintln(stderr, "eps directory import: give --routing (with --reliability) or --sds-endpoint")
			return errUsage
		}
		if *asid != "" {
			e.ASID = *asid
		}
		if *ods != "" {
			e.ODS = *ods
		}
		return withDirectory(ctx, *db, func(d *directory.Directory) error {
			if err := d.Put(ctx, e); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "imported %s (%s)\n", e.PartyKey, orDash(e.Endpoint))
			return nil
		})
	case "-h", "--help", "help":
		directoryUsage(stderr)
		return flag.ErrHelp
	}
	fmt.Fprintf(stderr, "eps directory: unknown subcommand %q\n", sub)
	directoryUsage(stderr)
	return errUsage
}

func directoryAdd(ctx context.Context, fs *flag.FlagSet, db *string, args []string, stdout io.Writer) error {
	var e directory.Entry
	var cpas, roles, interactions stringList
	e.Reliability = directory.DefaultReliability()
	ack, dedup := "always", "always"
	fs.StringVar(&e.PartyKey, "key", "", "party key (eb:PartyId), e.g. A83008-0000001")
	fs.StringVar(&e.ASID, "asid", "", "accredited system ID")
	fs.StringVar(&e.ODS, "ods", "", "ODS code of the organisation")
	fs.StringVar(&e.Name, "name", "", "a name for people")
	fs.StringVar(&e.Endpoint, "endpoint", "", "URL its ebXML messages are POSTed to (https://host/reliablemessaging/reliablerequest)")
	fs.StringVar(&e.FQDN, "fqdn", "", "host name its TLS client certificate must name")
	fs.Var(&cpas, "cpa-id", "CPA ID agreed with it (repeatable; the first is used when sending)")
	fs.Var(&roles, "role", "role it plays, e.g. pricing-authority (repeatable)")
	fs.Var(&interactions, "interaction", "interaction it takes, service:action or action (repeatable; none: any)")
	fs.IntVar(&e.Reliability.Retries, "retries", e.Reliability.Retries, "nhsMHSRetries")
	fs.Var(isoOrGoDuration{&e.Reliability.RetryInterval}, "retry-interval", "nhsMHSRetryInterval, e.g. PT1M")
	fs.Var(isoOrGoDuration{&e.Reliability.PersistDuration}, "persist-duration", "nhsMHSPersistDuration, e.g. PT5M")
	fs.StringVar(&e.Reliability.SyncReplyMode, "sync-reply-mode", e.Reliability.SyncReplyMode,
		"nhsMHSSyncReplyMode: MSHSignalsOnly (answers as messages of their own) or SignalsAndResponse (answers on the connection)")
	fs.StringVar(&ack, "ack-requested", ack, "nhsMHSAckRequested: always or never")
	fs.StringVar(&dedup, "duplicate-elimination", dedup, "nhsMHSDuplicateElimination: always or never")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for name, v := range map[string]string{"--ack-requested": ack, "--duplicate-elimination": dedup} {
		if v != "always" && v != "never" {
			return fmt.Errorf("%s: want always or never, not %q", name, v)
		}
	}
	e.Reliability.AckRequested, e.Reliability.DuplicateElimination = ack == "always", dedup == "always"
	e.CPAIds, e.Roles, e.Interactions = cpas, roles, interactions
	if e.PartyKey == "" {
		return errors.New("--key is required")
	}
	return withDirectory(ctx, *db, func(d *directory.Directory) error {
		if err := d.Put(ctx, e); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added %s\n", e.PartyKey)
		return nil
	})
}

func withDirectory(ctx context.Context, dsn string, fn func(*directory.Directory) error) error {
	st, err := storeopen.Open(ctx, dsn)
	if err != nil {
		return fmt.Errorf("open store %s: %w", dsn, err)
	}
	defer st.Close()
	return fn(directory.New(st, time.Second))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// entryJSON is the shape of `eps directory list --json`.
func entryJSON(e directory.Entry) map[string]any {
	r := e.Reliability
	return map[string]any{
		"partyKey": e.PartyKey, "asid": e.ASID, "ods": e.ODS, "name": e.Name, "endpoint": e.Endpoint, "fqdn": e.FQDN,
		"cpaIds": e.CPAIds, "roles": e.Roles, "interactions": e.Interactions,
		"reliability": map[string]any{
			"ackRequested": r.AckRequested, "duplicateElimination": r.DuplicateElimination, "retries": r.Retries,
			"retryInterval": directory.FormatDuration(r.RetryInterval), "persistDuration": directory.FormatDuration(r.PersistDuration),
			"syncReplyMode": r.SyncReplyMode,
		},
	}
}
