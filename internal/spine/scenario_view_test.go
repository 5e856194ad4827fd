package spine_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestViewShowsWhatTheIssueLists follows a repeat dispensing prescription
// through a partial dispense and a cancellation held for the dispenser,
// and reads the JSON the API serves: the issues with their line item
// statuses, the line items, the dispensing history with what was supplied,
// and the pending cancellation — and checks viewGaps are still gaps.
func TestViewShowsWhatTheIssueLists(t *testing.T) {
	w := &world{t: t, e: newScenarioEnv(t, nil), now: day0}
	rd3(w)
	w.released(pharmacyA())
	w.dispensed(pharmacyA(), supplyPartial...)
	w.expect("cancel", w.cancel(0, ""), cancelResp, "AE", "0003")

	resp, err := http.Get(w.e.srv.URL + "/api/prescriptions/" + w.p.ShortID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	want := map[string]any{
		// Issues, each with its line items' statuses.
		"issues.0.number":                  1.0,
		"issues.0.status":                  "0003",
		"issues.0.statusLabel":             "With Dispenser - Active",
		"issues.0.dispenserOds":            "FA565",
		"issues.0.lineItems.0.status":      "0003",
		"issues.0.lineItems.1.status":      "0001",
		"issues.0.lineItems.2.status":      "0004",
		"issues.1.status":                  "9000",
		"issues.2.lineItems.0.status":      "0007",
		"issues.0.lineItems.0.id":          w.p.Items[0].ID,
		"issues.0.lineItems.2.statusLabel": "Item not dispensed owing",
		// Line items: what was prescribed.
		"lineItems.0.id":          w.p.Items[0].ID,
		"lineItems.0.description": w.p.Items[0].Description,
		"lineItems.0.quantity":    "21",
		"lineItems.0.dmdCode":     w.p.Items[0].DMDCode,
		"lineItems.0.dosage":      w.p.Items[0].Dosage,
		"lineItems.0.status":      "0003",
		// The dispensing history: created, released, dispensed (with what
		// was supplied), the cancellation held.
		"dispensing.0.kind":             "created",
		"dispensing.1.kind":             "released",
		"dispensing.1.ods":              "FA565",
		"dispensing.2.kind":             "dispensed",
		"dispensing.2.fromStatus":       "0002",
		"dispensing.2.toStatus":         "0003",
		"dispensing.2.items.0.quantity": "10",
		"dispensing.2.items.0.status":   "0003",
		"dispensing.3.kind":             "cancellationPending",
		"dispensing.3.code.code":        "0003",
		// The pending cancellation: whole prescription, by whom, why.
		"pendingCancellations.0.ods":        "A83008",
		"pendingCancellations.0.reasonCode": "0001",
		// Every message received, with its answer.
		"history.3.outcome": "AE 0003 Prescription/item was not cancelled. With dispenser active. Marked for cancellation",
		"currentIssue":      1.0,
		// The issue's dates and what was supplied of each item.
		"issues.0.releaseDate":      day0.Format("20060102"),
		"issues.0.lastDispenseDate": day0.Format("20060102"),
		// With dispenser - active: expiry at the earlier of last dispense + 180
		// days and the prescription's 6 months (lifecycle.md §3.11).
		"issues.0.expiryDate":           day0.AddDate(0, 0, 180).Format("20060102"),
		"issues.0.lineItems.0.supplied": "10",
		// What the sweep does next: no-claim 180 days after the partial dispense.
		"nextActivity.activity": "createNoClaim",
		"nextActivity.date":     day0.AddDate(0, 0, 180).Format("20060102"),
		"maxRepeats":            3.0,
	}
	for path, value := range want {
		got, ok := jsonPath(v, path)
		if !ok {
			t.Errorf("%s: not in the view", path)
			continue
		}
		if got != value {
			t.Errorf("%s = %v; want %v", path, got, value)
		}
	}
	if n, _ := jsonPath(v, "pendingCancellations.0.lineItemId"); n != nil {
		t.Errorf("a whole-prescription cancellation names line item %v", n)
	}
}

// viewJSON reads a prescription's view as the API serves it, decoded.
func viewJSON(t *testing.T, w *world) any {
	t.Helper()
	resp, err := http.Get(w.e.srv.URL + "/api/prescriptions/" + w.p.ShortID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func wantPaths(t *testing.T, v any, want map[string]any) {
	t.Helper()
	for path, value := range want {
		got, ok := jsonPath(v, path)
		if !ok {
			t.Errorf("%s: not in the view", path)
		} else if got != value {
			t.Errorf("%s = %v; want %v", path, got, value)
		}
	}
}

// TestViewShowsCompletionClaimAndCancellations drives into the view what a
// fresh prescription has none of: a completed issue's date and claim, the
// next repeat issue's download date, a cancellation applied to an issue,
// and a pending cancellation that failed because the dispenser dispensed.
func TestViewShowsCompletionClaimAndCancellations(t *testing.T) {
	t.Run("dispensed and claimed repeat dispensing", func(t *testing.T) {
		w := &world{t: t, e: newScenarioEnv(t, nil), now: day0}
		rd3(w)
		w.released(pharmacyA())
		w.dispensed(pharmacyA())
		w.claimed(pharmacyA())
		v := viewJSON(t, w)
		wantPaths(t, v, map[string]any{
			"issues.0.status":                  "0008",
			"issues.0.completionDate":          day0.Format("20060102"),
			"issues.0.claim.claimReceivedDate": day0.Format("20060102"),
			"issues.0.claim.claimStatus":       "claimed",
		})
		if d, ok := jsonPath(v, "issues.1.nominatedDownloadDate"); !ok || d == "" {
			t.Errorf("issue 2 has no nominated download date: %v", d)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		w := &world{t: t, e: newScenarioEnv(t, nil), now: day0}
		acute(w)
		w.expect("cancel", w.cancel(0, ""), cancelResp, "AA", "0001")
		wantPaths(t, viewJSON(t, w), map[string]any{
			"issues.0.status":                     "0005",
			"issues.0.cancellations.0.reasonCode": "0001",
			"issues.0.cancellations.0.ods":        "A83008",
		})
	})
	t.Run("pending cancellation failed", func(t *testing.T) {
		w := &world{t: t, e: newScenarioEnv(t, nil), now: day0}
		acute(w)
		w.released(pharmacyA())
		w.expect("cancel", w.cancel(0, ""), cancelResp, "AE", "0002")
		w.dispensed(pharmacyA())
		v := viewJSON(t, w)
		wantPaths(t, v, map[string]any{
			"issues.0.status":                        "0006",
			"unsuccessfulCancellations.0.reasonCode": "0001",
		})
		if _, ok := jsonPath(v, "pendingCancellations.0"); ok {
			t.Error("the failed cancellation is still pending")
		}
	})
}

// jsonPath walks a decoded JSON value by dot-separated keys and indexes.
func jsonPath(v any, path string) (any, bool) {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[k]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}
