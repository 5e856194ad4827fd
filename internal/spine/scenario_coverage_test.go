package spine_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/testutil"
)

// requiredTransitions are the status changes of lifecycle.md §2–§3 (issue
// statuses "P", line item statuses "LI"; "" before = created, "deleted"
// after = the record removed). TestScenarios fails unless its scenarios'
// When steps make every one of them, and fails for one they make that is
// not listed.
var requiredTransitions = []struct{ key, spec string }{
	// §3.1 create; §1.5 repeat dispensing issues; §3.2.1 placeholder.
	{"P >0001", "§3.1 initial status"},
	{"P >9001", "§3.1 future-dated"},
	{"P >9000", "§1.5 repeat dispensing issues 2..N"},
	{"P >9005", "§3.2.1 cancel with no record: placeholder"},
	{"P 9005>0005", "§3.1 prescription over a placeholder: pending whole cancel applied"},
	{"P 9005>0001", "§3.1 prescription over a placeholder whose cancel is for an item"},
	{"LI >0007", "§1.4 every line item starts 0007"},
	{"LI >0006", "§1.5 an item beyond its max repeats starts expired"},
	{"LI >0005", "§3.1 pending cancellations applied on arrival"},
	// §3.2 cancel.
	{"P 0001>0005", "§3.2.1 cancellable 0001"},
	{"P 0000>0005", "§3.2.1 cancellable 0000"},
	{"P 9000>0005", "§3.2.1 cancellable 9000 (later issues)"},
	{"P 9001>0005", "§3.2.1 cancellable 9001"},
	{"P 0002>0005", "§3.2.3 pending cancellation applied after the return"},
	{"LI 0007>0005", "§3.2.2 line item cancel; decision 16"},
	{"LI 0008>0005", "§3.2.3 pending cancellation applied after the return"},
	// §3.3 release.
	{"P 0001>0002", "§3.3 release"},
	{"P 0000>0002", "§3.3 patient release before the ready sweep (decision 11)"},
	{"LI 0007>0008", "§3.3 release"},
	// §3.4 return.
	{"P 0002>0001", "§3.4 return"},
	{"LI 0008>0007", "§3.4 return"},
	// §3.5 dispense notification.
	{"P 0002>0003", "§3.5 partial"},
	{"P 0002>0006", "§3.5 dispensed"},
	{"P 0002>0007", "§3.5 not dispensed"},
	{"P 0003>0006", "§3.5 completed; §2.4 expiry of 0003"},
	{"P 0003>0007", "§3.5 nothing more dispensed"},
	{"LI 0008>0001", "§3.5"},
	{"LI 0008>0002", "§3.5"},
	{"LI 0008>0003", "§3.5"},
	{"LI 0008>0004", "§3.5"},
	{"LI 0003>0001", "§3.5; §2.4 expiry mapping (no-claim, decision 10)"},
	{"LI 0003>0002", "§3.5"},
	{"LI 0004>0001", "§3.5"},
	{"LI 0004>0002", "§3.5; §2.4 expiry mapping"},
	{"LI 0001>0002", "§3.5 amendment"},
	// §3.6 withdraw.
	{"P 0006>0002", "§3.6 withdraw of the first notification"},
	{"P 0006>0003", "§3.6 withdraw of a later notification; repeat dispensing back to 0003; §3.5 amendment"},
	{"P 0007>0002", "§3.6 withdraw of a not-dispensed notification"},
	{"P 0000>9000", "§3.6 decision 12: the next issue taken back"},
	{"LI 0001>0008", "§3.6 back to the release"},
	{"LI 0002>0008", "§3.6 back to the release"},
	{"LI 0001>0003", "§3.6 back to an earlier notification"},
	{"LI 0001>0004", "§3.6 back to an earlier notification"},
	// §3.7 claim, §3.8 no-claim.
	{"P 0006>0008", "§3.7 claim"},
	{"P 0006>0009", "§3.8 no-claim"},
	{"P 0003>0009", "§3.8 no-claim of a part-dispensed issue"},
	// §3.10 the next repeat dispensing issue.
	{"P 9000>0000", "§3.10 nominated download date still to come"},
	{"P 9000>0001", "§3.10 nominated download date passed"},
	// §3.11 sweeps.
	{"P 0000>0001", "§3.11 ready"},
	{"P 9001>0001", "§3.11 ready"},
	{"P 0001>0004", "§3.11 expire"},
	{"P 0002>0004", "§3.11 expire"},
	{"P 0000>0004", "§3.11 expire"},
	{"P 9000>0004", "§3.11 expire: later issues too"},
	{"P 9001>0004", "§3.11 expire"},
	{"LI 0007>0006", "§2.4 expiry mapping"},
	{"LI 0008>0006", "§2.4 expiry mapping"},
	{"P 0004>deleted", "§3.11 delete 90 d after expiry"},
	{"P 0005>deleted", "§3.11 delete 180 d after cancellation"},
	{"P 0007>deleted", "§3.11 delete 30 d after not dispensed"},
	{"P 0008>deleted", "§3.11 delete 36 d after the claim"},
	{"P 0009>deleted", "§3.11 delete 36 d after the no-claim"},
	{"P 9005>deleted", "§3.11 delete a placeholder 180 d on"},
}

// unreachableCodes are the codes of internal/epserr no message can make the
// service send, each with the reason, so that the claim that the scenarios
// reach every other code can be checked (TestEveryCodeAccountedFor).
var unreachableCodes = map[string]string{
	"PatientDead":       "the Spine checks a patient's death against PDS; the service has no PDS to ask",
	"InvalidResourceID": "an EPS FHIR API code (its translation table); no HL7 V3 rule raises it",
	"MissingValue": "an EPS FHIR API code; a missing mandatory field is answered 16.34/5000 " +
		"\"Mandatory field … missing\", as ESS raises UNABLE_TO_PROCESS",
	"InvalidMessage": "rx answers it for an input type it has no rule for; rxmsg maps every interaction the Spine " +
		"receives to one, and the service refuses those the Spine only sends before rx (16.34/5000)",
	"ResourceVersionMismatch": "an EPS FHIR API version check; a lost SCN race is retried, never refused",
	"InvalidMessageWrapper": "a transmission wrapper the decoder cannot read is refused AR with the " +
		"interaction's 5000 (hl7v3.UnableToProcess), as the Spine's schematrons do",
	"FailureToProcess": "a fault of the service's own (the store down) is an ebXML ErrorList with HTTP 500, " +
		"so the sender tries again; it is never an HL7 answer",
	"RejectFunctionalityOff": "the service has no switch to turn release off",
	"RejectVersionMismatch":  "as ResourceVersionMismatch: an EPS FHIR API code",
	"InvalidMessageDispense": "unreadable messages are refused with 5000 (hl7v3.UnableToProcess), " +
		"the code the Spine's schematrons raise",
	"InvalidDateFormatRelease": "the lifecycle reads no time from a release request; dispensing times that " +
		"cannot be read are 17.22/9006",
	"CancelFunctionalityOff": "the service has no switch to turn cancellation off",
	"CancelInvalidMessage":   "as InvalidMessageDispense: unreadable cancellations get 17.19/5000",
}

// TestEveryCodeAccountedFor parses internal/epserr/codes.go and fails for
// any code that no scenario's Then expects (in the answer or the outbox)
// and unreachableCodes does not explain — and for an entry of
// unreachableCodes a scenario does reach, or that names no code.
func TestEveryCodeAccountedFor(t *testing.T) {
	codes := epserrCodes(t)
	if len(codes) < 40 {
		t.Fatalf("read %d codes from codes.go; the parser lost track", len(codes))
	}
	byKey := map[string]string{} // system/value → variable name
	for name, c := range codes {
		byKey[c.System+"/"+c.Value] = name
	}
	reached := map[string][]string{} // variable name → scenarios
	note := func(c epserr.Code, scenario string) {
		name, ok := byKey[c.System+"/"+c.Value]
		if !ok {
			t.Errorf("scenario %s expects %s/%s, which codes.go does not define", scenario, c.System, c.Value)
			return
		}
		reached[name] = append(reached[name], scenario)
	}
	for _, sc := range allScenarios() {
		if !sc.then.code.IsZero() {
			note(sc.then.code, sc.name)
		}
		for _, o := range sc.then.outbox {
			f := strings.Fields(o)
			if len(f) == 2 && f[0] == subsequent {
				note(epserr.Code{System: epserr.SystemCancel, Value: f[1]}, sc.name)
			}
		}
	}
	var names []string
	for name := range codes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		why, listed := unreachableCodes[name]
		switch {
		case len(reached[name]) == 0 && !listed:
			c := codes[name]
			t.Errorf("epserr.%s (%s/%s %q): no scenario reaches it and unreachableCodes gives no reason",
				name, c.System, c.Value, c.Display)
		case len(reached[name]) > 0 && listed:
			t.Errorf("epserr.%s is listed unreachable (%q) but scenario %s reaches it", name, why, reached[name][0])
		case listed && strings.TrimSpace(why) == "":
			t.Errorf("epserr.%s: unreachable without a reason", name)
		}
	}
	for name := range unreachableCodes {
		if _, ok := codes[name]; !ok {
			t.Errorf("unreachableCodes names %s, which codes.go does not define", name)
		}
	}
	// rx's own code reuses one of the table's.
	if c := rx.ExistsWithNextActivityPurge; byKey[c.System+"/"+c.Value] == "" {
		t.Errorf("rx.ExistsWithNextActivityPurge %s/%s is not a code of codes.go", c.System, c.Value)
	}
}

// epserrCodes reads the package-level code variables of codes.go: each is a
// call p/d/c/t(value, display), the function naming the code system.
func epserrCodes(t *testing.T) map[string]epserr.Code {
	t.Helper()
	path := filepath.Join(testutil.RepoRoot(t), "internal", "epserr", "codes.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	systems := map[string]string{"p": epserr.SystemPrescribe, "d": epserr.SystemDispense,
		"c": epserr.SystemCancel, "t": epserr.SystemTransport}
	out := map[string]epserr.Code{}
	for _, decl := range f.Decls {
		g, ok := decl.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				call, ok := vs.Values[i].(*ast.CallExpr)
				fn, ok2 := call.Fun.(*ast.Ident)
				if !ok || !ok2 || systems[fn.Name] == "" || len(call.Args) != 2 {
					t.Errorf("codes.go: %s is not a code the test can read; teach epserrCodes", name.Name)
					continue
				}
				var lits [2]string
				for j, a := range call.Args {
					bl, ok := a.(*ast.BasicLit)
					if !ok {
						t.Fatalf("codes.go: %s: argument %d is not a literal", name.Name, j+1)
					}
					s, err := strconv.Unquote(bl.Value)
					if err != nil {
						t.Fatal(err)
					}
					lits[j] = s
				}
				out[name.Name] = epserr.Code{System: systems[fn.Name], Value: lits[0], Display: lits[1]}
			}
		}
	}
	return out
}

// TestCodesCarryTheirDisplays checks every code a scenario expects is the
// one codes.go defines, display and all — the scenarios compare displays
// exactly, so a display changed in codes.go must change on the wire.
func TestCodesCarryTheirDisplays(t *testing.T) {
	codes := epserrCodes(t)
	for _, sc := range allScenarios() {
		c := sc.then.code
		if c.IsZero() {
			continue
		}
		found := false
		for _, d := range codes {
			if d == c {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: expects %s, not a code of codes.go", sc.name, fmt.Sprint(c))
		}
	}
}
