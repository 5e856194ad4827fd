package spine_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/dispense"
	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/prescribe"
	"github.com/openeps/openeps/internal/rx"
)

// allScenarios is every scenario, by interaction.
func allScenarios() []scenario {
	var all []scenario
	for _, part := range [][]scenario{
		createScenarios(),
		cancelScenarios(),
		pendingScenarios(),
		releaseScenarios(),
		nominatedScenarios(),
		returnScenarios(),
		dispenseScenarios(),
		withdrawScenarios(),
		claimScenarios(),
		rebuildScenarios(),
		sweepScenarios(),
		replayScenarios(),
	} {
		all = append(all, part...)
	}
	return all
}

// Line item statuses of the three items of prescribe.Example.
var (
	i3x0001 = []string{"0001", "0001", "0001"}
	i3x0002 = []string{"0002", "0002", "0002"}
	i3x0005 = []string{"0005", "0005", "0005"}
	i3x0006 = []string{"0006", "0006", "0006"}
	i3x0007 = []string{"0007", "0007", "0007"}
	i3x0008 = []string{"0008", "0008", "0008"}
	// partial is what supplyPartial leaves: some supplied, one in full, one owing.
	partialItems = []string{"0003", "0001", "0004"}
)

// The Givens the scenarios share.

func acute(w *world) { w.prescribed("FA565") }

func releasedA(w *world) { acute(w); w.released(pharmacyA()) }

func dispensedA(w *world) { releasedA(w); w.dispensed(pharmacyA()) }

// supplyPartial: 10 of the 21 capsules, the tablets in full, the third item owing.
var supplyPartial = []string{"partial:10", "full", "owing"}

func partialA(w *world) { releasedA(w); w.dispensed(pharmacyA(), supplyPartial...) }

func notDispensedA(w *world) { releasedA(w); w.dispensed(pharmacyA(), "not", "not", "not") }

func claimedA(w *world) { dispensedA(w); w.claimed(pharmacyA()) }

func cancelledW(w *world) {
	acute(w)
	w.expect("cancel", w.cancel(0, ""), cancelResp, "AA", "0001")
}

// expiredW is an acute prescription the sweep expired, six months and a day on.
func expiredW(w *world) {
	acute(w)
	w.at(day0.AddDate(0, 6, 1))
	w.swept()
}

// noClaimedA is a dispensed prescription the sweep no-claimed 180 days on.
func noClaimedA(w *world) {
	dispensedA(w)
	w.days(181)
	w.swept()
}

// rd3 is a repeat dispensing prescription of three issues, nominated to A.
func rd3(w *world) { w.prescribed("FA565", repeatDispensing(3)) }

// rdIssue2Waiting: issue 1 dispensed on day 0, so issue 2 waits (0000) for
// its nominated download date, day 21.
func rdIssue2Waiting(w *world) {
	rd3(w)
	w.released(pharmacyA())
	w.dispensed(pharmacyA())
}

func futureDated(p *prescribe.Prescription) { p.Time = p.Time.AddDate(0, 0, 3) }

// pendingWhole: released to A, then cancelled — held for A.
func pendingWhole(w *world) {
	releasedA(w)
	w.expect("cancel", w.cancel(0, ""), cancelResp, "AE", "0002")
}

// placeholder: a cancel for w.p before w.p is sent.
func placeholder(item int, reason string, mods ...func(*prescribe.CancelRequest)) func(w *world) {
	return func(w *world) {
		w.prescription("FA565")
		w.expect("cancel before the prescription", w.cancel(item, reason, mods...), cancelResp, "AE", "0008")
	}
}

func (w *world) swept() {
	w.t.Helper()
	if _, err := w.e.svc.Sweep(w.t.Context()); err != nil {
		w.t.Fatalf("sweep: %v", err)
	}
}

// unknownID gives a released prescription another ID, one the Spine never saw.
func unknownID(t *testing.T, r dispense.Released) dispense.Released {
	id, err := ids.NewShortID("A83008")
	if err != nil {
		t.Fatal(err)
	}
	r.PrescriptionID = id
	return r
}

// createScenarios: the parent prescription (lifecycle.md §3.1).
func createScenarios() []scenario {
	return []scenario{
		{
			name: "create/acute nominated",
			when: func(w *world) when { return send(w.prescription("FA565")) },
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0001"}, items: map[int][]string{1: i3x0007},
				current: 1, dispenser: "-", nominated: "FA565", history: []string{"created"}, moved: true},
		},
		{
			name: "create/acute not nominated",
			when: func(w *world) when { return send(w.prescription("")) },
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0001"}, items: map[int][]string{1: i3x0007},
				nominated: "-", history: []string{"created"}, moved: true},
		},
		{
			name: "create/repeat prescribing is one issue",
			when: func(w *world) when { return send(w.prescription("FA565", repeatPrescribing(6))) },
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0001"}, items: map[int][]string{1: i3x0007},
				history: []string{"created"}, moved: true},
		},
		{
			name: "create/repeat dispensing makes every issue",
			when: func(w *world) when { return send(w.prescription("FA565", repeatDispensing(3))) },
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0001", "9000", "9000"},
				items: map[int][]string{1: i3x0007, 2: i3x0007, 3: i3x0007}, current: 1,
				history: []string{"created"}, moved: true},
		},
		{
			// §1.5: in issue k an item authorised for fewer issues starts expired.
			name: "create/repeat dispensing item with fewer repeats",
			when: func(w *world) when {
				b := w.prescription("FA565", repeatDispensing(3))
				return send(itemRepeats(w.t, b, w.p.Items[2].ID, 3, 2))
			},
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0001", "9000", "9000"},
				items:   map[int][]string{1: i3x0007, 2: i3x0007, 3: {"0007", "0007", "0006"}},
				history: []string{"created"}, moved: true},
		},
		{
			name: "create/future-dated",
			when: func(w *world) when { return send(w.prescription("FA565", futureDated)) },
			then: then{interaction: mcci, ack: "AA", statuses: []string{"9001"}, items: map[int][]string{1: i3x0007},
				history: []string{"created"}, moved: true},
		},
		{
			name: "create/future-dated repeat dispensing",
			when: func(w *world) when { return send(w.prescription("FA565", repeatDispensing(2), futureDated)) },
			then: then{interaction: mcci, ack: "AA", statuses: []string{"9001", "9000"}, history: []string{"created"}, moved: true},
		},
		{
			name:  "create/duplicate prescription ID",
			given: acute,
			when: func(w *world) when {
				q := prescribe.Example(w.tick(), "")
				q.ShortID = w.p.ShortID
				return send(w.must(prescribe.Build(&q)))
			},
			then: then{interaction: mcci, ack: "AE", code: epserr.DuplicatePrescription, statuses: []string{"0001"},
				nominated: "FA565"},
		},
		{
			name: "create/no signature",
			when: func(w *world) when {
				b := w.prescription("FA565")
				i, j := bytes.Index(b, []byte("<Signature ")), bytes.Index(b, []byte("</Signature>"))
				return send(append(append([]byte{}, b[:i]...), b[j+len("</Signature>"):]...))
			},
			then: then{interaction: mcci, ack: "AE", code: epserr.SignatureNotFound, gone: true},
		},
		{
			name: "create/five line items",
			when: func(w *world) when {
				b := w.prescription("FA565", func(p *prescribe.Prescription) {
					p.Items = append(p.Items, prescribe.Item{DMDCode: "39113611000001102", Description: "Ibuprofen 200mg tablets",
						Quantity: "24", UnitCode: "428673006", UnitDisplay: "tablet", Dosage: "One tablet three times a day"})
				})
				return send(addLineItem(w.t, b))
			},
			then: then{interaction: mcci, ack: "AE", code: epserr.ItemCountOutOfRange, detail: "lineItems over expected max count of 4", gone: true},
		},
		{
			name: "create/line item ID twice",
			when: func(w *world) when {
				b := w.prescription("FA565")
				return send(editAll(w.t, b, w.p.Items[1].ID, w.p.Items[0].ID))
			},
			then: then{interaction: mcci, ack: "AE", code: epserr.DuplicateItemID, detail: "-", gone: true,
				check: func(t *testing.T, w *world, r reply) {
					if want := epserr.DuplicateItemID.Display + " - " + w.p.Items[0].ID; r.code.Display != want {
						t.Errorf("display %q; want %q", r.code.Display, want)
					}
				}},
		},
		{
			name: "create/bad check character",
			when: func(w *world) when {
				b := w.prescription("FA565")
				return send(editAll(w.t, b, w.p.ShortID, badCheck(w.p.ShortID)))
			},
			then: then{interaction: mcci, ack: "AE", code: epserr.CheckDigitError, detail: "prescriptionID has invalid checksum", gone: true},
		},
		{
			name: "create/a hundred repeats",
			when: func(w *world) when {
				b := w.prescription("FA565", repeatPrescribing(99))
				return send(editAll(w.t, b, `<high value="99"/>`, `<high value="100"/>`))
			},
			then: then{interaction: mcci, ack: "AE", code: epserr.RepeatCountOutOfRange,
				detail: "prescriptionRepeatHigh must not be over configured maximum of 99", gone: true},
		},
		{
			name: "create/NHS number fails its check digit",
			when: func(w *world) when {
				b := w.prescription("FA565")
				return send(editAll(w.t, b, w.p.Patient.NHSNumber, "9449304107"))
			},
			then: then{interaction: mcci, ack: "AE", code: epserr.UnableToProcess, detail: "nhsNumber is not valid", gone: true},
		},
		{
			name:  "create/over a cancellation placeholder",
			given: placeholder(0, ""),
			when:  func(w *world) when { return send(w.raw) },
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0005"}, items: map[int][]string{1: i3x0005},
				history: []string{"created", "pendingCancellationApplied"}, moved: true,
				outbox: []string{subsequent + " 0001"}},
		},
		{
			name:  "create/over a placeholder cancelling one item",
			given: placeholder(1, ""),
			when:  func(w *world) when { return send(w.raw) },
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0001"},
				items:   map[int][]string{1: {"0005", "0007", "0007"}},
				history: []string{"created", "pendingCancellationApplied"}, moved: true,
				outbox: []string{subsequent + " 0001"}},
		},
		{
			name: "create/over a placeholder cancelling an item it does not have",
			given: placeholder(0, "", func(c *prescribe.CancelRequest) {
				c.LineItemID = ids.NewUUID()
			}),
			when: func(w *world) when { return send(w.raw) },
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0001"}, items: map[int][]string{1: i3x0007},
				history: []string{"created", "pendingCancellationFailed"}, moved: true,
				outbox: []string{subsequent + " 0008"}},
		},
		{
			// §3.1: a cancellation for a notification of death is applied but
			// answered no further (ESS is_death).
			name:  "create/over a placeholder after a death",
			given: placeholder(0, "0007"),
			when:  func(w *world) when { return send(w.raw) },
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0005"}, items: map[int][]string{1: i3x0005},
				history: []string{"created", "pendingCancellationApplied"}, moved: true},
		},
	}
}

// cancelScenarios: cancel requests answered at once (lifecycle.md §3.2.1,
// §3.2.2, §3.2.4).
func cancelScenarios() []scenario {
	cancelled := func(statuses ...string) then {
		return then{interaction: cancelResp, ack: "AA", code: epserr.CancelDone, statuses: statuses,
			history: []string{"cancelled"}, moved: true}
	}
	refused := func(code epserr.Code, performer string, statuses ...string) then {
		return then{interaction: cancelResp, ack: "AE", code: code, performer: performer, statuses: statuses,
			history: []string{"cancellationRefused"}, moved: true}
	}
	whole := func(w *world) when { return send(w.cancel(0, "")) }
	item := func(n int) func(w *world) when { return func(w *world) when { return send(w.cancel(n, "")) } }
	return []scenario{
		{
			name: "cancel/to be dispensed", given: acute, when: whole,
			then: with(cancelled("0005"), func(th *then) { th.items = map[int][]string{1: i3x0005}; th.dispenser = "-" }),
		},
		{
			name: "cancel/repeat dispensing cancels every issue", given: rd3, when: whole,
			then: with(cancelled("0005", "0005", "0005"), func(th *then) {
				th.items = map[int][]string{1: i3x0005, 2: i3x0005, 3: i3x0005}
				th.current = 3
			}),
		},
		{
			name: "cancel/repeat dispensing issue awaiting release", given: rdIssue2Waiting, when: whole,
			then: with(cancelled("0006", "0005", "0005"), func(th *then) {
				th.items = map[int][]string{1: i3x0001, 2: i3x0005, 3: i3x0005}
			}),
		},
		{
			name: "cancel/future-dated", given: func(w *world) { w.prescribed("FA565", futureDated) }, when: whole,
			then: cancelled("0005"),
		},
		{
			name: "cancel/with dispenser", given: releasedA, when: whole,
			then: then{interaction: cancelResp, ack: "AE", code: epserr.CancelWithDispenser, performer: "FA565",
				statuses: []string{"0002"}, items: map[int][]string{1: i3x0008}, dispenser: "FA565",
				pending: []string{"Prescription"}, history: []string{"cancellationPending"}, moved: true},
		},
		{
			name: "cancel/with dispenser active", given: partialA, when: whole,
			then: then{interaction: cancelResp, ack: "AE", code: epserr.CancelWithDispenserActive, performer: "FA565",
				statuses: []string{"0003"}, pending: []string{"Prescription"}, history: []string{"cancellationPending"}, moved: true},
		},
		{name: "cancel/expired", given: expiredW, when: whole, then: refused(epserr.CancelExpired, "", "0004")},
		{name: "cancel/already cancelled", given: cancelledW, when: whole, then: refused(epserr.CancelAlreadyCancelled, "", "0005")},
		{name: "cancel/dispensed", given: dispensedA, when: whole, then: refused(epserr.CancelDispensed, "FA565", "0006")},
		{name: "cancel/not dispensed", given: notDispensedA, when: whole, then: refused(epserr.CancelNotDispensed, "FA565", "0007")},
		{name: "cancel/claimed", given: claimedA, when: whole, then: refused(epserr.CancelDispensed, "FA565", "0008")},
		{name: "cancel/no-claimed", given: noClaimedA, when: whole, then: refused(epserr.CancelDispensed, "FA565", "0009")},
		{
			name:  "cancel/before the prescription",
			given: func(w *world) { w.prescription("FA565") },
			when:  whole,
			then: then{interaction: cancelResp, ack: "AE", code: epserr.CancelNotFound, statuses: []string{"9005"},
				pending: []string{"Prescription"}, history: []string{"placeholder"}, moved: true},
		},
		{
			name: "cancel/placeholder again", given: placeholder(0, ""), when: item(2),
			then: then{interaction: cancelResp, ack: "AE", code: epserr.CancelNotFound, statuses: []string{"9005"},
				pending: []string{"Prescription"}, history: []string{"cancellationDuplicate"}, moved: true},
		},
		{
			name: "cancel/placeholder again by another prescriber", given: placeholder(0, ""),
			when: func(w *world) when { return send(w.cancel(0, "", byOtherPrescriber)) },
			then: then{interaction: cancelResp, ack: "AE", code: epserr.CancelByAnotherPrescriber, statuses: []string{"9005"},
				pending: []string{"Prescription"}, history: []string{"cancellationDuplicate"}, moved: true},
		},
		{
			name: "cancel/held again", given: pendingWhole, when: whole,
			then: then{interaction: cancelResp, ack: "AE", code: epserr.CancelWithDispenser, performer: "FA565",
				statuses: []string{"0002"}, pending: []string{"Prescription"}, history: []string{"cancellationDuplicate"}, moved: true},
		},
		{
			name: "cancel/held again by another prescriber", given: pendingWhole,
			when: func(w *world) when { return send(w.cancel(0, "", byOtherPrescriber)) },
			then: then{interaction: cancelResp, ack: "AE", code: epserr.CancelByAnotherPrescriber, performer: "FA565",
				statuses: []string{"0002"}, pending: []string{"Prescription"}, history: []string{"cancellationDuplicate"}, moved: true},
		},
		{
			name: "cancel/another patient's NHS number", given: acute,
			when: func(w *world) when {
				return send(w.cancel(0, "", func(c *prescribe.CancelRequest) { c.Patient.NHSNumber = "9449304130" }))
			},
			then: refused(epserr.CancelNotFound, "", "0001"),
		},
		{
			name: "cancel/line item", given: acute, when: item(1),
			then: with(cancelled("0001"), func(th *then) { th.items = map[int][]string{1: {"0005", "0007", "0007"}} }),
		},
		{
			name: "cancel/the only line item", given: func(w *world) { w.prescribed("FA565", oneItem) }, when: item(1),
			then: with(cancelled("0005"), func(th *then) { th.items = map[int][]string{1: {"0005"}} }),
		},
		{
			name: "cancel/line item with dispenser", given: releasedA, when: item(1),
			then: then{interaction: cancelResp, ack: "AE", code: epserr.CancelWithDispenser, performer: "FA565",
				statuses: []string{"0002"}, pending: []string{"item 1"}, history: []string{"cancellationPending"}, moved: true},
		},
		{
			name: "cancel/line item partly dispensed", given: partialA, when: item(1),
			then: then{interaction: cancelResp, ack: "AE", code: epserr.CancelWithDispenserActive, performer: "FA565",
				statuses: []string{"0003"}, pending: []string{"item 1"}, history: []string{"cancellationPending"}, moved: true},
		},
		{
			// Decision C4: an owing item is marked for cancellation.
			name: "cancel/line item owing", given: partialA, when: item(3),
			then: then{interaction: cancelResp, ack: "AE", code: epserr.CancelWithDispenserActive, performer: "FA565",
				statuses: []string{"0003"}, pending: []string{"item 3"}, history: []string{"cancellationPending"}, moved: true},
		},
		{name: "cancel/line item dispensed", given: partialA, when: item(2), then: refused(epserr.CancelDispensed, "FA565", "0003")},
		{
			name: "cancel/line item not dispensed",
			given: func(w *world) {
				releasedA(w)
				w.dispensed(pharmacyA(), "partial:10", "not", "full")
			},
			when: item(2), then: refused(epserr.CancelNotDispensed, "FA565", "0003"),
		},
		{
			name: "cancel/line item already cancelled",
			given: func(w *world) {
				acute(w)
				w.expect("cancel item 1", w.cancel(1, ""), cancelResp, "AA", "0001")
			},
			when: item(1), then: refused(epserr.CancelAlreadyCancelled, "", "0001"),
		},
		{name: "cancel/line item expired", given: expiredW, when: item(1), then: refused(epserr.CancelExpired, "", "0004")},
		{
			name: "cancel/line item not on the prescription", given: acute,
			when: func(w *world) when {
				return send(w.cancel(0, "", func(c *prescribe.CancelRequest) { c.LineItemID = ids.NewUUID() }))
			},
			then: refused(epserr.CancelNotFound, "", "0001"),
		},
		{
			// A cancel the lifecycle cannot read: an acknowledgement with
			// 5000, the prescription untouched.
			name: "cancel/malformed prescription ID", given: acute,
			when: func(w *world) when {
				return send(editAll(w.t, w.cancel(0, ""), w.p.ShortID, strings.ToLower(w.p.ShortID[:7])+"X"))
			},
			// Every cancellation is answered with a cancel response: an
			// unprocessable one with the cancellation code system's 5000.
			then: then{interaction: cancelResp, ack: "AE", code: epserr.CancelUnableToProcess,
				detail: "prescriptionID has invalid format", statuses: []string{"0001"}},
		},
		{
			// The cancellation family's own 5000 when the request does not
			// hold together as a cancellation request.
			name: "cancel/unreadable request", given: acute,
			when: func(w *world) when {
				b := w.cancel(0, "")
				return send(edit(w.t, b, `<effectiveTime value="`+stamp(w.now)+`"/>`, ``))
			},
			then: then{interaction: cancelResp, ack: "AE", code: epserr.CancelUnableToProcess, detail: "effectiveTime",
				statuses: []string{"0001"}},
		},
	}
}

// pendingScenarios: pending cancellations settled by what the dispenser
// does next, or by the sweep (lifecycle.md §3.2.3).
func pendingScenarios() []scenario {
	return []scenario{
		{
			name: "pending/applied when returned", given: pendingWhole,
			when: func(w *world) when { return send(w.returnMsg(pharmacyA())) },
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0005"}, items: map[int][]string{1: i3x0005},
				dispenser: "-", nominated: "-", history: []string{"returned", "pendingCancellationApplied"}, moved: true,
				outbox: []string{subsequent + " 0001"}},
		},
		{
			name: "pending/fails when dispensed", given: pendingWhole,
			when: func(w *world) when { return send(w.dn(pharmacyA(), nil)) },
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0006"}, items: map[int][]string{1: i3x0001},
				history: []string{"dispensed", "pendingCancellationFailed"}, moved: true,
				outbox: []string{subsequent + " 0004"}},
		},
		{
			name: "pending/fails when not dispensed", given: pendingWhole,
			when: func(w *world) when { return send(w.dn(pharmacyA(), []string{"not", "not", "not"})) },
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0007"}, items: map[int][]string{1: i3x0002},
				history: []string{"dispensed", "pendingCancellationFailed"}, moved: true,
				outbox: []string{subsequent + " 0010"}},
		},
		{
			name: "pending/waits on a partial dispense", given: pendingWhole,
			when: func(w *world) when { return send(w.dn(pharmacyA(), supplyPartial)) },
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0003"}, items: map[int][]string{1: partialItems},
				pending: []string{"Prescription"}, history: []string{"dispensed"}, moved: true},
		},
		{
			name: "pending/line item fails when its item is dispensed",
			given: func(w *world) {
				releasedA(w)
				w.expect("cancel item 2", w.cancel(2, ""), cancelResp, "AE", "0002")
			},
			when: func(w *world) when { return send(w.dn(pharmacyA(), supplyPartial)) },
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0003"}, items: map[int][]string{1: partialItems},
				history: []string{"dispensed", "pendingCancellationFailed"}, moved: true,
				outbox: []string{subsequent + " 0004"}},
		},
		{
			// The issue dispensed cannot be cancelled, but the issues to come can.
			name: "pending/repeat dispensing stops the issues to come",
			given: func(w *world) {
				rd3(w)
				w.released(pharmacyA())
				w.expect("cancel", w.cancel(0, ""), cancelResp, "AE", "0002")
			},
			when: func(w *world) when { return send(w.dn(pharmacyA(), nil)) },
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0006", "0005", "0005"},
				items: map[int][]string{1: i3x0001, 2: i3x0005, 3: i3x0005}, current: 3,
				history: []string{"dispensed", "nextIssueReleased", "pendingCancellationApplied"}, moved: true,
				outbox: []string{subsequent + " 0001"}},
		},
		{
			name:  "pending/fails when the prescription expires",
			given: func(w *world) { pendingWhole(w); w.at(day0.AddDate(0, 6, 1)) },
			when:  func(w *world) when { return sweep },
			then: then{statuses: []string{"0004"}, items: map[int][]string{1: i3x0006},
				history: []string{"expired", "pendingCancellationFailed"}, moved: true,
				outbox: []string{subsequent + " 0005"}},
		},
	}
}

// releaseScenarios: patient (by ID) release requests (lifecycle.md §3.3).
func releaseScenarios() []scenario {
	byA := func(w *world) when { return send(w.patientRelease(pharmacyA())) }
	byB := func(w *world) when { return send(w.patientRelease(pharmacyB())) }
	rejected := func(code epserr.Code, performer string, statuses ...string) then {
		return then{interaction: relReject, ack: rejectionAck(code), code: code, performer: performer, statuses: statuses}
	}
	return []scenario{
		{
			name: "release/to be dispensed", given: acute, when: byA,
			then: then{interaction: relPatient, ack: "AA", released: 1, shown: []string{"0001", "0007", "0007", "0007"},
				statuses: []string{"0002"}, items: map[int][]string{1: i3x0008}, dispenser: "FA565", nominated: "FA565",
				history: []string{"released"}, moved: true},
		},
		{
			name: "release/by a pharmacy not nominated", given: acute, when: byB,
			then: then{interaction: relPatient, ack: "AA", released: 1, statuses: []string{"0002"}, dispenser: "FCG71",
				history: []string{"released"}, moved: true},
		},
		{
			// Decision 14: the holder asking again gets the same release.
			name: "release/again by the holder", given: releasedA, when: byA,
			then: then{interaction: relPatient, ack: "AA", released: 1, shown: []string{"0001", "0007", "0007", "0007"},
				statuses: []string{"0002"}, items: map[int][]string{1: i3x0008}, dispenser: "FA565",
				history: []string{"released"}, moved: true},
		},
		{
			name:  "release/again by the holder, double release refused",
			cfg:   func(c *rx.Config) { c.RejectDoubleRelease = true },
			given: releasedA, when: byA,
			then: rejected(epserr.RejectWithAnother, "FA565", "0002"),
		},
		{name: "release/with another dispenser", given: releasedA, when: byB, then: rejected(epserr.RejectWithAnother, "FA565", "0002")},
		{name: "release/with another dispenser active", given: partialA, when: byB, then: rejected(epserr.RejectWithAnother, "FA565", "0003")},
		{name: "release/cancelled", given: cancelledW, when: byA, then: rejected(epserr.RejectCancelled, "", "0005")},
		{name: "release/expired", given: expiredW, when: byA, then: rejected(epserr.RejectExpired, "", "0004")},
		{
			name: "release/unknown", given: func(w *world) { w.prescription("FA565") }, when: byA,
			then: then{interaction: relReject, ack: rejectionAck(epserr.RejectNotFound), code: epserr.RejectNotFound, gone: true},
		},
		{
			// Decision R3: not yet available is "can not be found".
			name: "release/future-dated", given: func(w *world) { w.prescribed("FA565", futureDated) }, when: byA,
			then: rejected(epserr.RejectNotFound, "", "9001"),
		},
		{
			name: "release/placeholder", given: placeholder(0, ""), when: byA,
			then: with(rejected(epserr.RejectNotFound, "", "9005"), func(th *then) { th.pending = []string{"Prescription"} }),
		},
		{name: "release/dispensed", given: dispensedA, when: byB, then: rejected(epserr.RejectDispensed, "", "0006")},
		{name: "release/not dispensed", given: notDispensedA, when: byB, then: rejected(epserr.RejectDispensed, "", "0007")},
		{name: "release/claimed", given: claimedA, when: byB, then: rejected(epserr.RejectDispensed, "", "0008")},
		{name: "release/no-claimed", given: noClaimedA, when: byB, then: rejected(epserr.RejectDispensed, "", "0009")},
		{
			// Decision 11: a patient release takes an issue before the ready
			// sweep, shown as 0001.
			name: "release/repeat dispensing issue awaiting release", given: rdIssue2Waiting, when: byA,
			then: then{interaction: relPatient, ack: "AA", released: 1, shown: []string{"0001", "0007", "0007", "0007"},
				statuses: []string{"0006", "0002", "9000"}, items: map[int][]string{2: i3x0008}, current: 2,
				dispenser: "FA565", history: []string{"released"}, moved: true,
				check: func(t *testing.T, w *world, r reply) {
					if rel := r.released[0]; rel.Issue != 2 || rel.MaxRepeats != 3 {
						t.Errorf("released issue %d of %d; want 2 of 3", rel.Issue, rel.MaxRepeats)
					}
				}},
		},
		{
			name: "release/malformed prescription ID", given: acute,
			when: func(w *world) when {
				return send(editAll(w.t, w.patientRelease(pharmacyA()), w.p.ShortID, w.p.ShortID[:19]))
			},
			then: then{interaction: relReject, ack: rejectionAck(epserr.UnableToProcess), code: epserr.UnableToProcess,
				detail: "prescriptionID has invalid format", statuses: []string{"0001"}},
		},
	}
}

// rejectionAck is the acknowledgement type of a release rejection: AE for
// every reason, as NHS England's EPS FHIR API reads rejections (see
// hl7v3.NewReleaseRejection and docs/decisions.md).
func rejectionAck(epserr.Code) string { return "AE" }

// nominatedScenarios: nominated release requests (lifecycle.md §3.3).
func nominatedScenarios() []scenario {
	nominatedA := func(w *world) when { return send(w.nominatedRelease(pharmacyA())) }
	noMore := func(statuses ...string) then {
		return then{interaction: relReject, ack: "AE", code: epserr.RejectNoMoreNominated, statuses: statuses}
	}
	return []scenario{
		{
			name: "nominated/releases what is nominated to the pharmacy",
			given: func(w *world) {
				w.prescribed("FCG71")
				w.prescribed("FA565")
				w.others = append(w.others, w.p)
				w.prescribed("FA565")
			},
			when: nominatedA,
			then: then{interaction: relNom, ack: "AA", released: 2, shown: []string{"0001", "0007", "0007", "0007"},
				statuses: []string{"0002"}, items: map[int][]string{1: i3x0008}, dispenser: "FA565",
				history: []string{"released"}, moved: true,
				check: func(t *testing.T, w *world, r reply) {
					got := map[string]bool{}
					for _, rel := range r.released {
						got[rel.PrescriptionID] = true
					}
					if first := w.others[0].ShortID; !got[first] || !got[w.p.ShortID] {
						t.Errorf("released %v; want %s and %s", got, first, w.p.ShortID)
					}
					if v, _ := w.e.view(w.others[0].ShortID); v.Status != "0002" || v.DispenserODS != "FA565" {
						t.Errorf("the other prescription nominated to FA565: %s with %q", v.Status, v.DispenserODS)
					}
				}},
		},
		{
			name: "nominated/nothing left", given: func(w *world) { w.prescribed("FCG71") }, when: nominatedA,
			then: noMore("0001"),
		},
		{
			name: "nominated/batch size", cfg: func(c *rx.Config) { c.NominatedBatchSize = 2 },
			given: func(w *world) {
				for range 2 {
					w.prescribed("FA565")
				}
				w.expect("first batch", w.nominatedRelease(pharmacyA()), relNom, "AA", "")
				w.prescribed("FA565")
			},
			when: nominatedA,
			then: then{interaction: relNom, ack: "AA", released: 1, statuses: []string{"0002"}, history: []string{"released"}, moved: true},
		},
		{
			// Decision 11: 0000 waits for the ready sweep.
			name: "nominated/not before the nominated download date", given: rdIssue2Waiting, when: nominatedA,
			then: noMore("0006", "0000", "9000"),
		},
		{
			name: "nominated/after the ready sweep",
			given: func(w *world) {
				rdIssue2Waiting(w)
				w.at(day0.AddDate(0, 0, 21))
				w.swept()
			},
			when: nominatedA,
			then: then{interaction: relNom, ack: "AA", released: 1, statuses: []string{"0006", "0002", "9000"}, current: 2,
				history: []string{"released"}, moved: true},
		},
		{
			name: "nominated/returned is no longer nominated",
			given: func(w *world) {
				releasedA(w)
				w.ok("return", w.returnMsg(pharmacyA()))
			},
			when: nominatedA, then: noMore("0001"),
		},
	}
}

// returnScenarios: dispense proposal returns (lifecycle.md §3.4).
func returnScenarios() []scenario {
	byA := func(w *world) when { return send(w.returnMsg(pharmacyA())) }
	return []scenario{
		{
			name: "return/with dispenser", given: releasedA, when: byA,
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0001"}, items: map[int][]string{1: i3x0007},
				dispenser: "-", nominated: "-", history: []string{"returned"}, moved: true},
		},
		{
			name: "return/not released",
			given: func(w *world) {
				releasedA(w)
				w.ok("return", w.returnMsg(pharmacyA()))
			},
			when: byA,
			then: then{interaction: mcci, ack: "AE", code: epserr.InvalidPrescriptionState, statuses: []string{"0001"}},
		},
		{
			name: "return/dispensed", given: dispensedA, when: byA,
			then: then{interaction: mcci, ack: "AE", code: epserr.RejectDispensed, statuses: []string{"0006"}},
		},
		{
			name: "return/by another dispenser",
			given: func(w *world) {
				releasedA(w)
				w.rel[pharmacyB().ODS] = w.rel[pharmacyA().ODS]
			},
			when: func(w *world) when { return send(w.returnMsg(pharmacyB())) },
			then: then{interaction: mcci, ack: "AE", code: epserr.InvalidPrescriptionState, statuses: []string{"0002"}, dispenser: "FA565"},
		},
		{
			name: "return/unknown", given: releasedA,
			when: func(w *world) when {
				return send(w.must(dispense.Return(pharmacyA(), unknownID(w.t, w.rel["FA565"]), "0002", w.tick())))
			},
			then: then{interaction: mcci, ack: "AE", code: epserr.PrescriptionNotFound, statuses: []string{"0002"}},
		},
	}
}

// dispenseScenarios: dispense notifications and their amendments
// (lifecycle.md §3.5, §3.10).
func dispenseScenarios() []scenario {
	dnA := func(how ...string) func(w *world) when {
		return func(w *world) when { return send(w.dn(pharmacyA(), how)) }
	}
	accepted := func(statuses []string, items []string) then {
		return then{interaction: mcci, ack: "AA", statuses: statuses, items: map[int][]string{1: items},
			dispenser: "FA565", history: []string{"dispensed"}, moved: true}
	}
	refused := func(code epserr.Code, statuses ...string) then {
		return then{interaction: mcci, ack: "AE", code: code, statuses: statuses}
	}
	released := func(w *world) dispense.Released { return w.rel["FA565"] }
	dnOf := func(w *world, r dispense.Released, how ...string) []byte {
		return w.must(dispense.Notification(pharmacyA(), r, w.supplies(r, how...), w.tick()))
	}
	return []scenario{
		{name: "dispense/in full", given: releasedA, when: dnA(), then: accepted([]string{"0006"}, i3x0001)},
		{name: "dispense/in part", given: releasedA, when: dnA(supplyPartial...), then: accepted([]string{"0003"}, partialItems)},
		{name: "dispense/the rest", given: partialA, when: dnA("rest:11", "none", "full"), then: accepted([]string{"0006"}, i3x0001)},
		{name: "dispense/more in part", given: partialA, when: dnA("partial:5", "none", "owing"), then: accepted([]string{"0003"}, partialItems)},
		{name: "dispense/nothing", given: releasedA, when: dnA("not", "not", "not"), then: accepted([]string{"0007"}, i3x0002)},
		{
			name: "dispense/nothing more after a part",
			given: func(w *world) {
				releasedA(w)
				w.dispensed(pharmacyA(), "partial:10", "owing", "owing")
			},
			when: dnA("not", "not", "not"), then: accepted([]string{"0007"}, i3x0002),
		},
		{
			name: "dispense/the rest but one item", given: partialA, when: dnA("rest:11", "none", "not"),
			then: accepted([]string{"0006"}, []string{"0001", "0001", "0002"}),
		},
		{
			name: "dispense/not released",
			given: func(w *world) {
				releasedA(w)
				w.ok("return", w.returnMsg(pharmacyA()))
			},
			when: dnA(), then: refused(epserr.InvalidPrescriptionState, "0001"),
		},
		{name: "dispense/already dispensed", given: dispensedA, when: dnA(), then: refused(epserr.RejectDispensed, "0006")},
		{
			name: "dispense/unknown", given: releasedA,
			when: func(w *world) when { return send(dnOf(w, unknownID(w.t, released(w)))) },
			then: refused(epserr.PrescriptionNotFound, "0002"),
		},
		{
			name: "dispense/another patient's NHS number", given: releasedA,
			when: func(w *world) when {
				r := released(w)
				r.NHSNumber = "9449304130"
				return send(dnOf(w, r))
			},
			then: refused(epserr.PrescriptionNotFound, "0002"),
		},
		{
			name: "dispense/by another dispenser",
			given: func(w *world) {
				releasedA(w)
				w.rel[pharmacyB().ODS] = w.rel[pharmacyA().ODS]
			},
			when: func(w *world) when { return send(w.dn(pharmacyB(), nil)) },
			then: then{interaction: mcci, ack: "AE", code: epserr.RejectWithAnother, statuses: []string{"0002"}, dispenser: "FA565"},
		},
		{
			name: "dispense/an item left out", given: releasedA,
			when: func(w *world) when {
				r := released(w)
				r.Items = r.Items[:2]
				return send(dnOf(w, r))
			},
			then: refused(epserr.ItemNotFound, "0002"),
		},
		{
			name: "dispense/an item back from dispensed to partial", given: partialA,
			when: dnA("rest:11", "partial:1", "full"), then: refused(epserr.InvalidItemState, "0003"),
		},
		{
			name:  "dispense/repeat counts that do not match",
			given: func(w *world) { rd3(w); w.released(pharmacyA()) },
			when: func(w *world) when {
				r := released(w)
				r.Items[0].MaxRepeats = 2
				return send(dnOf(w, r))
			},
			then: refused(epserr.RepeatCountMismatch, "0002", "9000", "9000"),
		},
		{
			// §3.5: repeat prescribing only logs a repeat count mismatch.
			name: "dispense/repeat prescribing repeat counts not checked",
			given: func(w *world) {
				w.prescribed("FA565", repeatPrescribing(6))
				r := w.released(pharmacyA())
				if r.Issue != 1 || r.MaxRepeats != 6 || r.Items[0].MaxRepeats != 6 {
					w.t.Fatalf("released issue %d of %d, item of %d; want 1 of 6", r.Issue, r.MaxRepeats, r.Items[0].MaxRepeats)
				}
			},
			when: func(w *world) when {
				r := released(w)
				r.Items[0].MaxRepeats = 2
				return send(dnOf(w, r))
			},
			then: accepted([]string{"0006"}, i3x0001),
		},
		{
			name: "dispense/more than prescribed", given: releasedA, when: dnA("partial:30"),
			then: then{interaction: mcci, ack: "AE", code: epserr.UnableToProcess, detail: "exceeds the 21 prescribed", statuses: []string{"0002"}},
		},
		{
			name: "dispense/time in an unreadable format", given: releasedA,
			when: func(w *world) when {
				b := w.dn(pharmacyA(), nil)
				return send(edit(w.t, b, `<effectiveTime value="`+stamp(w.now)+`"/>`, `<effectiveTime value="2025-03-03"/>`))
			},
			then: then{interaction: mcci, ack: "AE", code: epserr.InvalidDateFormat, detail: "dispenseNotificationTime", statuses: []string{"0002"}},
		},
		{
			name: "dispense/time two days ahead", given: releasedA,
			when: func(w *world) when {
				r := released(w)
				return send(w.must(dispense.Notification(pharmacyA(), r, dispense.FullSupplies(r), w.now.AddDate(0, 0, 2))))
			},
			then: then{interaction: mcci, ack: "AE", code: epserr.UnableToProcess, detail: "more than one day in the future", statuses: []string{"0002"}},
		},
		{
			name: "dispense/amended", given: dispensedA,
			when: func(w *world) when {
				return send(w.dn(pharmacyA(), []string{"full", "full", "not"}, dispense.Amends(w.lastDN())))
			},
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0006"}, items: map[int][]string{1: {"0001", "0001", "0002"}},
				history: []string{"dispenseAmended"}, moved: true},
		},
		{
			name: "dispense/amending one that is not the last",
			given: func(w *world) {
				partialA(w)
				w.dispensed(pharmacyA(), "rest:11", "none", "full")
			},
			when: func(w *world) when {
				first, _ := dispense.IDOf(w.dns[0])
				return send(w.dn(pharmacyA(), nil, dispense.Amends(first)))
			},
			then: refused(epserr.NotLastDispense, "0006"),
		},
		{
			name: "dispense/amending after the claim", given: claimedA,
			when: func(w *world) when {
				return send(w.dn(pharmacyA(), []string{"full", "full", "not"}, dispense.Amends(w.lastDN())))
			},
			then: refused(epserr.InvalidPrescriptionState, "0008"),
		},
		{
			name:  "dispense/repeat dispensing releases the next issue",
			given: func(w *world) { rd3(w); w.released(pharmacyA()) },
			when:  dnA(),
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0006", "0000", "9000"},
				items: map[int][]string{1: i3x0001, 2: i3x0007}, current: 2, dispenser: "-",
				history: []string{"dispensed", "nextIssueReleased"}, moved: true},
		},
		{
			name: "dispense/repeat dispensing late makes the next issue ready",
			given: func(w *world) {
				rd3(w)
				w.released(pharmacyA())
				w.days(22)
			},
			when: dnA(),
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0006", "0001", "9000"}, current: 2,
				history: []string{"dispensed", "nextIssueReleased"}, moved: true},
		},
		{
			// Decision 12: amending the notification that released the
			// next issue into a partial one takes that issue back.
			name: "dispense/repeat dispensing amended to a part", given: rdIssue2Waiting,
			when: func(w *world) when {
				return send(w.dn(pharmacyA(), supplyPartial, dispense.Amends(w.lastDN())))
			},
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0003", "9000", "9000"},
				items: map[int][]string{1: partialItems}, current: 1, history: []string{"dispenseAmended"}, moved: true},
		},
		{
			name: "dispense/repeat dispensing amended after the next issue went to a dispenser",
			given: func(w *world) {
				rdIssue2Waiting(w)
				w.released(pharmacyB())
			},
			when: func(w *world) when {
				return send(w.dn(pharmacyA(), supplyPartial, dispense.Amends(w.lastDN())))
			},
			then: refused(epserr.InvalidPrescriptionState, "0006", "0002", "9000"),
		},
	}
}

// withdrawScenarios: dispenser withdraws (lifecycle.md §3.6).
func withdrawScenarios() []scenario {
	lastLD := func(w *world) when { return send(w.withdrawMsg(pharmacyA(), w.lastDN(), "LD")) }
	refused := func(code epserr.Code, statuses ...string) then {
		return then{interaction: mcci, ack: "AE", code: code, statuses: statuses}
	}
	withdrawn := func(statuses []string, items []string) then {
		return then{interaction: mcci, ack: "AA", statuses: statuses, items: map[int][]string{1: items},
			dispenser: "FA565", history: []string{"withdrawn"}, moved: true}
	}
	twoDNs := func(w *world) {
		partialA(w)
		w.dispensed(pharmacyA(), "rest:11", "none", "full")
	}
	return []scenario{
		{name: "withdraw/the only notification", given: dispensedA, when: lastLD, then: withdrawn([]string{"0002"}, i3x0008)},
		{name: "withdraw/the last of two", given: twoDNs, when: lastLD, then: withdrawn([]string{"0003"}, partialItems)},
		{
			name: "withdraw/all", given: twoDNs,
			when: func(w *world) when { return send(w.withdrawMsg(pharmacyA(), w.lastDN(), "AD")) },
			then: withdrawn([]string{"0002"}, i3x0008),
		},
		{name: "withdraw/not dispensed", given: notDispensedA, when: lastLD, then: withdrawn([]string{"0002"}, i3x0008)},
		{
			// §3.6: a repeat dispensing issue goes back only as far as 0003;
			// decision 12: the issue its notification released goes back too.
			name: "withdraw/repeat dispensing", given: rdIssue2Waiting, when: lastLD,
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0003", "9000", "9000"},
				items: map[int][]string{1: i3x0008}, current: 1, history: []string{"withdrawn"}, moved: true},
		},
		{
			name: "withdraw/repeat dispensing after the next issue went to a dispenser",
			given: func(w *world) {
				rdIssue2Waiting(w)
				w.released(pharmacyB())
			},
			when: lastLD, // A's withdraw of its notification for issue 1
			then: refused(epserr.InvalidPrescriptionState, "0006", "0002", "9000"),
		},
		{
			name: "withdraw/nothing dispensed", given: releasedA,
			when: func(w *world) when { return send(w.withdrawMsg(pharmacyA(), ids.NewUUID(), "LD")) },
			then: refused(epserr.NoDispenseMessages, "0002"),
		},
		{
			name: "withdraw/not the last notification", given: twoDNs,
			when: func(w *world) when {
				first, _ := dispense.IDOf(w.dns[0])
				return send(w.withdrawMsg(pharmacyA(), first, "LD"))
			},
			then: refused(epserr.NotLastDispense, "0006"),
		},
		{name: "withdraw/claimed", given: claimedA, when: lastLD, then: refused(epserr.InvalidPrescriptionState, "0008")},
		{
			name: "withdraw/unknown", given: dispensedA,
			when: func(w *world) when {
				return send(w.must(dispense.Withdraw(pharmacyA(), unknownID(w.t, w.rel["FA565"]), w.lastDN(), "LD", "QU", w.tick())))
			},
			then: refused(epserr.PrescriptionNotFound, "0006"),
		},
		{
			name: "withdraw/by another dispenser",
			given: func(w *world) {
				dispensedA(w)
				w.rel[pharmacyB().ODS] = w.rel[pharmacyA().ODS]
			},
			when: func(w *world) when { return send(w.withdrawMsg(pharmacyB(), w.lastDN(), "LD")) },
			then: then{interaction: mcci, ack: "AE", code: epserr.RejectWithAnother, statuses: []string{"0006"}, dispenser: "FA565"},
		},
	}
}

// claimScenarios: dispense claims and claim amendments (lifecycle.md §3.7).
func claimScenarios() []scenario {
	claimA := func(w *world) when { return send(w.claimMsg(pharmacyA())) }
	refused := func(code epserr.Code, statuses ...string) then {
		return then{interaction: mcci, ack: "AE", code: code, statuses: statuses}
	}
	amendA := func(w *world) when {
		id, _ := dispense.IDOf(w.claim)
		return send(w.claimMsg(pharmacyA(), dispense.Amends(id)))
	}
	return []scenario{
		{
			name: "claim/dispensed", given: dispensedA, when: claimA,
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0008"}, items: map[int][]string{1: i3x0001},
				history: []string{"claimed"}, moved: true},
		},
		{name: "claim/again", given: claimedA, when: claimA, then: refused(epserr.ClaimAlreadyMade, "0008")},
		{
			name: "claim/amended", given: claimedA, when: amendA,
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0008"}, history: []string{"claimAmended"}, moved: true},
		},
		{
			name: "claim/amended too late", given: func(w *world) { claimedA(w); w.days(181) }, when: amendA,
			then: refused(epserr.ClaimAmendOutsidePeriod, "0008"),
		},
		{
			// Decision CL1: nothing to amend yet.
			name: "claim/amendment before the claim", given: dispensedA,
			when: func(w *world) when { return send(w.claimMsg(pharmacyA(), dispense.Amends(ids.NewUUID()))) },
			then: refused(epserr.InvalidPrescriptionState, "0006"),
		},
		{name: "claim/with dispenser", given: releasedA, when: claimA, then: refused(epserr.ClaimNotDispensed, "0002")},
		{name: "claim/in part", given: partialA, when: claimA, then: refused(epserr.ClaimNotDispensed, "0003")},
		{name: "claim/not dispensed", given: notDispensedA, when: claimA, then: refused(epserr.ClaimNotDispensed, "0007")},
		{name: "claim/no-claimed", given: noClaimedA, when: claimA, then: refused(epserr.ClaimAlreadySentToPPA, "0009")},
		{
			name: "claim/unknown", given: dispensedA,
			when: func(w *world) when {
				r := unknownID(w.t, w.rel["FA565"])
				return send(w.must(dispense.Claim(pharmacyA(), r, dispense.FullSupplies(r), w.tick())))
			},
			then: refused(epserr.PrescriptionNotFoundClaim, "0006"),
		},
		{
			name: "claim/by another dispenser",
			given: func(w *world) {
				dispensedA(w)
				w.rel[pharmacyB().ODS] = w.rel[pharmacyA().ODS]
			},
			when: func(w *world) when { return send(w.claimMsg(pharmacyB())) },
			then: refused(epserr.RejectWithAnother, "0006"),
		},
		{
			name: "claim/an item left out", given: dispensedA,
			when: func(w *world) when {
				r := w.rel["FA565"]
				r.Items = r.Items[:2]
				return send(w.must(dispense.Claim(pharmacyA(), r, dispense.FullSupplies(r), w.tick())))
			},
			then: refused(epserr.ItemNotFound, "0006"),
		},
	}
}

// rebuildScenarios: rebuilds of the dispense history (lifecycle.md §3.9).
func rebuildScenarios() []scenario {
	refused := func(code epserr.Code, statuses ...string) then {
		return then{interaction: mcci, ack: "AE", code: code, statuses: statuses}
	}
	return []scenario{
		{
			name: "rebuild/after a withdraw",
			given: func(w *world) {
				dispensedA(w)
				w.ok("withdraw", w.withdrawMsg(pharmacyA(), w.lastDN(), "LD"))
			},
			when: func(w *world) when { return send(w.rebuildMsg(pharmacyA(), w.dn(pharmacyA(), nil))) },
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0006"}, items: map[int][]string{1: i3x0001},
				history: []string{"dispenseHistoryRebuilt"}, moved: true},
		},
		{
			name: "rebuild/two notifications", given: partialA,
			when: func(w *world) when {
				return send(w.rebuildMsg(pharmacyA(), w.dn(pharmacyA(), supplyPartial), w.dn(pharmacyA(), []string{"rest:11", "none", "full"})))
			},
			then: then{interaction: mcci, ack: "AA", statuses: []string{"0006"}, items: map[int][]string{1: i3x0001},
				history: []string{"dispenseHistoryRebuilt"}, moved: true},
		},
		{
			name: "rebuild/dispensed", given: dispensedA,
			when: func(w *world) when { return send(w.rebuildMsg(pharmacyA(), w.dn(pharmacyA(), nil))) },
			then: refused(epserr.RejectDispensed, "0006"),
		},
		{
			name: "rebuild/not released",
			given: func(w *world) {
				releasedA(w)
				w.ok("return", w.returnMsg(pharmacyA()))
			},
			when: func(w *world) when { return send(w.rebuildMsg(pharmacyA(), w.dn(pharmacyA(), nil))) },
			then: refused(epserr.InvalidPrescriptionState, "0001"),
		},
		{
			name: "rebuild/a notification after the issue completed", given: partialA,
			when: func(w *world) when {
				return send(w.rebuildMsg(pharmacyA(), w.dn(pharmacyA(), nil), w.dn(pharmacyA(), nil)))
			},
			then: refused(epserr.InvalidDispenseHistory, "0003"),
		},
		{
			name: "rebuild/unknown", given: partialA,
			when: func(w *world) when {
				r := unknownID(w.t, w.rel["FA565"])
				dn := w.must(dispense.Notification(pharmacyA(), r, dispense.FullSupplies(r), w.tick()))
				return send(w.must(dispense.Rebuild(pharmacyA(), r, "QU", [][]byte{dn}, w.tick())))
			},
			then: refused(epserr.PrescriptionNotFound, "0003"),
		},
	}
}

// sweepScenarios: the time-based rules (lifecycle.md §3.8, §3.10, §3.11).
func sweepScenarios() []scenario {
	at := func(w *world, t time.Time) when { w.at(t); return sweep }
	sixMonths := day0.AddDate(0, 6, 1)
	deleted := then{gone: true}
	return []scenario{
		{
			name: "sweep/expires to be dispensed", given: acute,
			when: func(w *world) when { return at(w, sixMonths) },
			then: then{statuses: []string{"0004"}, items: map[int][]string{1: i3x0006}, history: []string{"expired"}, moved: true},
		},
		{
			name: "sweep/not yet", given: acute,
			when: func(w *world) when { return at(w, day0.AddDate(0, 6, -1)) },
			then: then{statuses: []string{"0001"}},
		},
		{
			name: "sweep/expires with dispenser", given: releasedA,
			when: func(w *world) when { return at(w, sixMonths) },
			then: then{statuses: []string{"0004"}, items: map[int][]string{1: i3x0006}, dispenser: "FA565",
				history: []string{"expired"}, moved: true},
		},
		{
			name: "sweep/expires every issue of repeat dispensing", given: rd3,
			when: func(w *world) when { return at(w, sixMonths) },
			then: then{statuses: []string{"0004", "0004", "0004"}, items: map[int][]string{1: i3x0006, 2: i3x0006, 3: i3x0006},
				current: 3, history: []string{"expired", "expired", "expired"}, moved: true},
		},
		{
			name: "sweep/future-dated becomes ready", given: func(w *world) { w.prescribed("FA565", futureDated) },
			when: func(w *world) when { return at(w, day0.AddDate(0, 0, 3)) },
			then: then{statuses: []string{"0001"}, items: map[int][]string{1: i3x0007}, history: []string{"ready"}, moved: true},
		},
		{
			name: "sweep/future-dated never released expires", given: func(w *world) { w.prescribed("FA565", futureDated) },
			when: func(w *world) when { return at(w, day0.AddDate(0, 7, 0)) },
			then: then{statuses: []string{"0004"}, history: []string{"ready", "expired"}, moved: true},
		},
		{
			name: "sweep/repeat dispensing issue ready", given: rdIssue2Waiting,
			when: func(w *world) when { return at(w, day0.AddDate(0, 0, 21)) },
			then: then{statuses: []string{"0006", "0001", "9000"}, items: map[int][]string{2: i3x0007}, current: 2,
				history: []string{"ready"}, moved: true},
		},
		{
			name: "sweep/repeat dispensing a year on", given: rdIssue2Waiting,
			when: func(w *world) when { return at(w, day0.AddDate(1, 0, 1)) },
			then: then{statuses: []string{"0009", "0004", "0004"}, current: 3,
				history: []string{"ready", "noClaim", "expired", "expired"}, moved: true, outbox: []string{noClaim}},
		},
		{
			name: "sweep/no claim for a dispensed prescription", given: dispensedA,
			when: func(w *world) when { return at(w, w.now.AddDate(0, 0, 181)) },
			then: then{statuses: []string{"0009"}, items: map[int][]string{1: i3x0001}, history: []string{"noClaim"}, moved: true,
				outbox: []string{noClaim}},
		},
		{
			// Decision 10: the items take the expiry mapping.
			name: "sweep/no claim for a part dispensed prescription", given: partialA,
			when: func(w *world) when { return at(w, w.now.AddDate(0, 0, 181)) },
			then: then{statuses: []string{"0009"}, items: map[int][]string{1: {"0001", "0001", "0002"}}, history: []string{"noClaim"},
				moved: true, outbox: []string{noClaim}},
		},
		{
			// A repeat dispensing issue withdrawn back to 0003 has no
			// notification on record: it expires, as dispensed (table 2.4).
			name: "sweep/expires with dispenser active",
			given: func(w *world) {
				rdIssue2Waiting(w)
				w.ok("withdraw", w.withdrawMsg(pharmacyA(), w.lastDN(), "LD"))
			},
			when: func(w *world) when { return at(w, w.now.AddDate(0, 0, 181)) },
			then: then{statuses: []string{"0006", "0004", "0004"}, items: map[int][]string{1: i3x0006}, current: 3,
				history: []string{"expired", "expired", "expired"}, moved: true},
		},
		{name: "sweep/deletes expired", given: expiredW, when: func(w *world) when { return at(w, w.now.AddDate(0, 0, 91)) }, then: deleted},
		{
			name: "sweep/keeps expired until its time", given: expiredW,
			when: func(w *world) when { return at(w, w.now.AddDate(0, 0, 89)) },
			then: then{statuses: []string{"0004"}},
		},
		{name: "sweep/deletes cancelled", given: cancelledW, when: func(w *world) when { return at(w, w.now.AddDate(0, 0, 181)) }, then: deleted},
		{name: "sweep/deletes not dispensed", given: notDispensedA, when: func(w *world) when { return at(w, w.now.AddDate(0, 0, 31)) }, then: deleted},
		{name: "sweep/deletes claimed", given: claimedA, when: func(w *world) when { return at(w, w.now.AddDate(0, 0, 37)) }, then: deleted},
		{name: "sweep/deletes no-claimed", given: noClaimedA, when: func(w *world) when { return at(w, w.now.AddDate(0, 0, 37)) }, then: deleted},
		{name: "sweep/deletes a placeholder", given: placeholder(0, ""), when: func(w *world) when { return at(w, w.now.AddDate(0, 0, 181)) }, then: deleted},
	}
}

// replayScenarios: a message ID handled before (lifecycle.md §1.7).
func replayScenarios() []scenario {
	same := func(interaction, ackType string, code epserr.Code, statuses ...string) then {
		return then{interaction: interaction, ack: ackType, code: code, statuses: statuses,
			check: func(t *testing.T, w *world, r reply) {
				id, err := dispense.IDOf(w.sent)
				if err != nil {
					t.Fatal(err)
				}
				if first := w.answers[id]; !bytes.Equal(r.raw, first) {
					t.Errorf("the replay was answered\n%s\nthe first time\n%s", r.raw, first)
				}
			}}
	}
	return []scenario{
		{
			name: "replay/prescription", given: func(w *world) { acute(w); w.days(1) },
			when: func(w *world) when { return send(w.raw) },
			then: same(mcci, "AA", epserr.Code{}, "0001"),
		},
		{
			name: "replay/release",
			given: func(w *world) {
				acute(w)
				w.replayed = w.patientRelease(pharmacyA())
				w.keep(pharmacyA(), w.expect("release", w.replayed, relPatient, "AA", ""))
				w.dispensed(pharmacyA())
			},
			when: func(w *world) when { return send(w.replayed) },
			then: with(same(relPatient, "AA", epserr.Code{}, "0006"), func(th *then) { th.released = 1 }),
		},
		{
			name: "replay/refused release",
			given: func(w *world) {
				releasedA(w)
				w.replayed = w.patientRelease(pharmacyB())
				w.expect("release", w.replayed, relReject, "AE", "0004")
				w.ok("return", w.returnMsg(pharmacyA()))
			},
			when: func(w *world) when { return send(w.replayed) },
			then: with(same(relReject, "AE", epserr.RejectWithAnother, "0001"), func(th *then) { th.performer = "FA565" }),
		},
		{
			name: "replay/dispense notification",
			given: func(w *world) {
				dispensedA(w)
				w.replayed = w.dns[0]
			},
			when: func(w *world) when { return send(w.replayed) },
			then: same(mcci, "AA", epserr.Code{}, "0006"),
		},
		{
			name: "replay/cancel",
			given: func(w *world) {
				releasedA(w)
				w.replayed = w.cancel(0, "")
				w.expect("cancel", w.replayed, cancelResp, "AE", "0002")
				w.ok("return", w.returnMsg(pharmacyA()))
			},
			when: func(w *world) when { return send(w.replayed) },
			then: with(same(cancelResp, "AE", epserr.CancelWithDispenser, "0005"), func(th *then) { th.performer = "FA565" }),
		},
		{
			// Decision RP1: the same ID on another interaction is no replay.
			name: "replay/message ID reused by another interaction", given: acute,
			when: func(w *world) when {
				return send(w.cancel(0, "", func(c *prescribe.CancelRequest) { c.MessageID = w.p.MessageID }))
			},
			then: then{interaction: mcci, ack: "AR", code: epserr.DuplicateHL7ID, statuses: []string{"0001"}},
		},
	}
}

// with returns th changed by f.
func with(th then, f func(*then)) then {
	f(&th)
	return th
}

func stamp(t time.Time) string { return t.UTC().Format("20060102150405") }

// badCheck returns a short-form ID with another check character.
func badCheck(id string) string {
	last := id[len(id)-1]
	c := byte('A')
	if last == 'A' {
		c = 'B'
	}
	return id[:len(id)-1] + string(c)
}

// addLineItem adds a copy of a prescription's last line item, with a new ID.
func addLineItem(t *testing.T, b []byte) []byte {
	t.Helper()
	const open = "\n            <pertinentInformation2 contextConductionInd=\"true\" inversionInd"
	const end = "\n            </pertinentInformation2>"
	i := bytes.LastIndex(b, []byte(open))
	if i < 0 {
		t.Fatal("addLineItem: no line item")
	}
	j := bytes.Index(b[i:], []byte(end))
	item := string(b[i : i+j+len(end)])
	k := strings.Index(item, `<id root="`) + len(`<id root="`)
	item = item[:k] + ids.NewUUID() + item[k+36:]
	out := append([]byte{}, b[:i+j+len(end)]...)
	out = append(out, item...)
	return append(out, b[i+j+len(end):]...)
}

// itemRepeats changes one line item's authorised repeats from old to n.
func itemRepeats(t *testing.T, b []byte, itemID string, old, n int) []byte {
	t.Helper()
	i := bytes.Index(b, []byte(`<id root="`+itemID+`"/>`))
	if i < 0 {
		t.Fatal("itemRepeats: no such item")
	}
	from := []byte(`<high value="` + itoa(old) + `"/>`)
	j := bytes.Index(b[i:], from)
	if j < 0 {
		t.Fatal("itemRepeats: the item has no repeat number")
	}
	out := append([]byte{}, b[:i+j]...)
	out = append(out, `<high value="`+itoa(n)+`"/>`...)
	return append(out, b[i+j+len(from):]...)
}

func itoa(n int) string { return strconv.Itoa(n) }
