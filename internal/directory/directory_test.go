package directory_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openeps/openeps/internal/directory"
	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/sqlite"
	"github.com/openeps/openeps/internal/testutil"
)

func openStore(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestPutResolveRemove(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, filepath.Join(t.TempDir(), "eps.db"))
	d := directory.New(st, time.Hour)
	gp := directory.Entry{PartyKey: "A83008-0000001", ASID: "200000001285", ODS: "A83008", Name: "Hallgarth Surgery MHS",
		Endpoint: "https://gp.example:8443/reliablemessaging/reliablerequest", FQDN: "gp.example",
		CPAIds: []string{"S1001A1630"}, Reliability: directory.DefaultReliability()}
	bsa := directory.Entry{PartyKey: "T99999-0000001", ASID: "999999999999", ODS: "T9999", Roles: []string{"pricing-authority"},
		Endpoint: "https://bsa.example/reliablemessaging/reliablerequest",
		Reliability: directory.Reliability{AckRequested: true, DuplicateElimination: true, Retries: 5,
			RetryInterval: 30 * time.Second, PersistDuration: time.Hour, SyncReplyMode: directory.SyncReplyMSHSignalsOnly}}
	for _, e := range []directory.Entry{gp, bsa} {
		if err := d.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for dest, want := range map[string]directory.Entry{
		"A83008-0000001":    gp,
		"asid:200000001285": gp,
		"ods:A83008":        gp,
		"pricing-authority": bsa,
		"asid:999999999999": bsa,
	} {
		got, err := d.Resolve(ctx, dest)
		if err != nil {
			t.Fatalf("%s: %v", dest, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", dest, diff)
		}
	}
	if _, err := d.Resolve(ctx, "asid:123"); !errors.Is(err, directory.ErrUnknown) {
		t.Errorf("unknown ASID: %v", err)
	}

	// A second process (another Directory on the same file) sees the
	// entries, and a lookup that misses reloads: `eps directory add` while
	// `eps serve` runs takes effect at once.
	d2 := directory.New(st, time.Hour)
	if _, ok, err := d2.ByPartyKey(ctx, "A83008-0000001"); err != nil || !ok {
		t.Fatalf("second directory: %v %v", ok, err)
	}
	late := directory.Entry{PartyKey: "FCG71-0000001", ODS: "FCG71", Reliability: directory.DefaultReliability()}
	if err := d.Put(ctx, late); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // past the miss-reload guard
	if _, ok, err := d2.ByODS(ctx, "FCG71"); err != nil || !ok {
		t.Errorf("an entry added by another writer is not found: %v %v", ok, err)
	}

	list, err := d.List(ctx)
	if err != nil || len(list) != 3 || list[0].PartyKey != "A83008-0000001" {
		t.Fatalf("list: %v %+v", err, list)
	}
	if err := d.Remove(ctx, "A83008-0000001"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Resolve(ctx, "A83008-0000001"); !errors.Is(err, directory.ErrUnknown) {
		t.Errorf("removed entry still resolves: %v", err)
	}
	if err := d.Remove(ctx, "A83008-0000001"); !errors.Is(err, directory.ErrUnknown) {
		t.Errorf("removing twice: %v", err)
	}
}

func TestValidate(t *testing.T) {
	ok := directory.Entry{PartyKey: "X-1", Reliability: directory.DefaultReliability()}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]directory.Entry{
		"no key":         {},
		"asid prefix":    {PartyKey: "asid:1"},
		"ftp endpoint":   {PartyKey: "X", Endpoint: "ftp://x/y"},
		"relative URL":   {PartyKey: "X", Endpoint: "/reliablemessaging"},
		"newline":        {PartyKey: "X\nY"},
		"negative":       {PartyKey: "X", Reliability: directory.Reliability{Retries: -1}},
		"sync mode":      {PartyKey: "X", Reliability: directory.Reliability{SyncReplyMode: "sometimes"}},
		"too many tries": {PartyKey: "X", Reliability: directory.Reliability{Retries: 100000}},
	} {
		if err := e.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDurations(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"PT1M": time.Minute, "PT5M": 5 * time.Minute, "PT0S": 0, "PT0.5S": 500 * time.Millisecond,
		"P1DT2H": 26 * time.Hour, "P2W": 14 * 24 * time.Hour, "PT1H30M": 90 * time.Minute, "PT1,5S": 1500 * time.Millisecond,
	} {
		got, err := directory.ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
		if back, err := directory.ParseDuration(directory.FormatDuration(got)); err != nil || back != got {
			t.Errorf("%s: round trip via %s gives %v %v", in, directory.FormatDuration(got), back, err)
		}
	}
	for _, bad := range []string{"", "P", "PT", "1M", "P1M", "P1Y", "PT1", "PTM", "PT1M1M", "PT-1S", "PT1X", "P1DTT1H"} {
		if _, err := directory.ParseDuration(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"PT1M", "P1DT2H30M5.5S", "P2W", "PT0S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := directory.ParseDuration(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("%q: negative %v", s, d)
		}
	})
}

// TestFromSDS reads the SDS lookups the MHS adaptor's tests carry.
func TestFromSDS(t *testing.T) {
	routing := testutil.ReadFixture(t, "ebxml", "mhs-adaptor", "mhs", "common", "mhs_common", "routing", "tests", "data", "routing.json")
	rel := testutil.ReadFixture(t, "ebxml", "mhs-adaptor", "mhs", "common", "mhs_common", "routing", "tests", "data", "reliability.json")
	e, err := directory.FromSDS(routing, rel)
	if err != nil {
		t.Fatal(err)
	}
	want := directory.Entry{PartyKey: "YES-0000806", ASID: "227319907548", FQDN: "msg.int.spine2.ncrs.nhs.uk",
		Endpoint: "https://msg.int.spine2.ncrs.nhs.uk/reliablemessaging/reliablerequest", CPAIds: []string{"S20001A000182"},
		Reliability: directory.Reliability{AckRequested: true, DuplicateElimination: true, Retries: 2,
			RetryInterval: time.Minute, PersistDuration: 5 * time.Minute, SyncReplyMode: "MSHSignalsOnly"}}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if e.Reliability.AnswersOnConnection() {
		t.Error("MSHSignalsOnly: the answer must not come on the connection")
	}

	bundle := testutil.ReadFixture(t, "ebxml", "mhs-adaptor", "mhs", "common", "mhs_common", "routing", "tests", "data", "sds_endpoint_response.json")
	f, err := directory.FromSDSFHIR(bundle, "227319907548")
	if err != nil {
		t.Fatal(err)
	}
	want.ODS = "YES"
	want.Interactions = []string{"urn:nhs:names:services:psis:REPC_IN150016UK05"}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("FHIR (-want +got):\n%s", diff)
	}
	if !f.Takes("urn:nhs:names:services:psis", "REPC_IN150016UK05") || f.Takes("urn:nhs:names:services:mm", "PORX_IN020101SM31") {
		t.Error("Takes does not read the SDS interaction list")
	}
	zero := testutil.ReadFixture(t, "ebxml", "mhs-adaptor", "mhs", "common", "mhs_common", "routing", "tests", "data", "sds_zero_results_response.json")
	if _, err := directory.FromSDSFHIR(zero, ""); err == nil {
		t.Error("a bundle with no Endpoint made an entry")
	}
	if _, err := directory.FromSDS([]byte(`{"nhsMhsFQDN":"x"}`), nil); err == nil {
		t.Error("routing without a party key made an entry")
	}
}

// TestStoredForm keeps the JSON in store.Party.Data readable by SDS's names.
func TestStoredForm(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, filepath.Join(t.TempDir(), "eps.db"))
	d := directory.New(st, 0)
	if err := d.Put(ctx, directory.Entry{PartyKey: "K", Reliability: directory.DefaultReliability()}); err != nil {
		t.Fatal(err)
	}
	var p []store.Party
	if err := st.View(ctx, func(tx store.ReadTx) error {
		var err error
		p, err = tx.Parties(ctx, store.PartyQuery{Key: "K"})
		return err
	}); err != nil || len(p) != 1 {
		t.Fatal(err)
	}
	want := `{"reliability":{"nhsMHSAckRequested":"always","nhsMHSDuplicateElimination":"always","nhsMHSPersistDuration":"PT5M","nhsMHSRetries":2,"nhsMHSRetryInterval":"PT1M","nhsMHSSyncReplyMode":"MSHSignalsOnly"}}`
	if string(p[0].Data) != want {
		t.Errorf("stored:\n%s\nwant:\n%s", p[0].Data, want)
	}
}
