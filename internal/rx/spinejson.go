package rx

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/openeps/openeps/internal/epserr"
)

// MaxSpineRecordBytes bounds ImportSpineRecord's input.
const MaxSpineRecordBytes = 4 << 20

// ImportSpineRecord reads a prescription record as the Spine stores it (the
// JSON of ../shared/fixtures/spine-records: prescription, patient, nomination,
// instances, changeLog, indexes; missing values written as false) into a
// Record. It is for migrating records and for checking this model against the
// Spine's. What the Spine does not keep (line item products, patient address)
// stays empty; migrated records may lack issues before the current one.
func ImportSpineRecord(b []byte) (*Record, error) {
	if len(b) > MaxSpineRecordBytes {
		return nil, epserr.Invalid("spine record of %d bytes (limit %d)", len(b), MaxSpineRecordBytes)
	}
	var raw struct {
		Prescription map[string]any            `json:"prescription"`
		Patient      map[string]any            `json:"patient"`
		Nomination   map[string]any            `json:"nomination"`
		Instances    map[string]map[string]any `json:"instances"`
		ChangeLog    map[string]map[string]any `json:"changeLog"`
		Indexes      map[string]any            `json:"indexes"`
		SCN          any                       `json:"SCN"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, epserr.Invalid("spine record: %v", err)
	}
	if raw.Prescription == nil {
		return nil, epserr.Invalid("spine record: no prescription section")
	}
	p := raw.Prescription
	r := &Record{
		PrescriptionID:      str(p["prescriptionID"]),
		SCN:                 int64(num(raw.SCN)),
		PrescriptionPresent: p["prescriptionPresent"] != false,
		MessageRef:          str(p["prescriptionMsgRef"]),
		TreatmentType:       str(p["prescriptionTreatmentType"]),
		PrescriptionType:    str(p["prescriptionType"]),
		PrescriptionTime:    str(p["prescriptionTime"]),
		SignedTime:          str(p["signedTime"]),
		DaysSupply:          num(p["daysSupply"]),
		MaxRepeats:          num(p["maxRepeats"]),
		CurrentIssue:        num(p["currentInstance"]),
		Prescriber:          Prescriber{ODS: str(p["prescribingOrganization"])},
		Patient: PatientDetails{
			NHSNumber: str(raw.Patient["nhsNumber"]), BirthDate: str(raw.Patient["birthTime"]),
			Prefix: str(raw.Patient["prefix"]), Given: str(raw.Patient["given"]), Family: str(raw.Patient["family"]),
			Suffix: str(raw.Patient["suffix"]), LowerAgeLimit: str(raw.Patient["lowerAgeLimit"]),
			HigherAgeLimit: str(raw.Patient["higherAgeLimit"]),
		},
		Nomination: Nomination{
			Nominated: raw.Nomination["nominated"] == true, ODS: str(raw.Nomination["nominatedPerformer"]),
			Type: str(raw.Nomination["nominatedPerformerType"]), History: strs(raw.Nomination["nominationHistory"]),
		},
		ChangeLog: map[string]ChangeEntry{},
	}
	if r.TreatmentType != "" {
		r.RecordType = recordType(r.TreatmentType)
	}
	if r.MaxRepeats == 0 {
		r.MaxRepeats = 1
	}
	if hl7, ok := p["hl7"].(map[string]any); ok {
		r.Interaction = str(hl7["interactionID"])
		r.Prescriber.SenderASID = str(hl7["fromASID"])
	}
	for _, c := range list(p["pendingCancellations"]) {
		r.PendingCancellations = append(r.PendingCancellations, spineCancellation(c))
	}
	for _, c := range list(p["unsuccessfulCancellations"]) {
		r.UnsuccessfulCancellations = append(r.UnsuccessfulCancellations, spineCancellation(c))
	}
	keys := make([]string, 0, len(raw.Instances))
	for k := range raw.Instances {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return num(keys[i]) < num(keys[j]) })
	items := map[string]*Item{}
	for _, k := range keys {
		in := raw.Instances[k]
		is := Issue{
			Number:                 num(k),
			Status:                 str(in["prescriptionStatus"]),
			PreviousStatus:         str(in["previousStatus"]),
			LastDispenseStatus:     str(in["lastDispenseStatus"]),
			DispenseWindowLow:      str(in["dispenseWindowLowDate"]),
			DispenseWindowHigh:     str(in["dispenseWindowHighDate"]),
			NominatedDownloadDate:  str(in["nominatedDownloadDate"]),
			PriorPreviousIssueDate: firstStr(in["priorPreviousIssueDate"], in["previousIssueDate"]),
			ReleaseDate:            str(in["releaseDate"]),
			ReleaseRequestMsgRef:   str(in["releaseRequestMsgRef"]),
			ExpiryDate:             str(in["expiryDate"]),
			CompletionDate:         str(in["completionDate"]),
		}
		if na, ok := in["nextActivity"].(map[string]any); ok {
			is.NextActivity, is.NextActivityDate = str(na["activity"]), str(na["date"])
		}
		if n := num(in["instanceNumber"]); n > 0 {
			is.Number = n
		}
		is.LineItems = spineLineItems(in["lineItems"])
		for i, li := range list(in["lineItems"]) {
			id := str(li["ID"])
			if items[id] == nil {
				order := num(li["order"])
				if order == 0 {
					order = i + 1
				}
				items[id] = &Item{ID: id, Order: order, MaxRepeats: is.LineItems[i].MaxRepeats}
			}
		}
		for _, c := range list(in["cancellations"]) {
			is.Cancellations = append(is.Cancellations, spineCancellation(c))
		}
		is.Dispense = spineDispense(in["dispense"])
		if c, ok := in["claim"].(map[string]any); ok {
			is.Claim = Claim{
				ClaimID: str(c["claimGUID"]), MsgRef: str(c["dispenseClaimMsgRef"]),
				HistoricMsgRefs: strs(c["historicDispenseClaimMsgRef"]), HistoricClaimIDs: strs(c["historicClaimGUIDs"]),
				ReceivedDate: str(c["claimReceivedDate"]), Status: str(c["claimStatus"]), Rebuild: c["claimRebuild"] == true,
			}
		}
		if dh, ok := in["dispenseHistory"].(map[string]any); ok {
			hk := make([]string, 0, len(dh))
			for k := range dh {
				hk = append(hk, k)
			}
			// "release" first, then the DNs in the order their dates say.
			sort.Slice(hk, func(i, j int) bool {
				if (hk[i] == snapshotRelease) != (hk[j] == snapshotRelease) {
					return hk[i] == snapshotRelease
				}
				di := spineDispense(dh[hk[i]].(map[string]any)["dispense"]).LastDispenseDate
				dj := spineDispense(dh[hk[j]].(map[string]any)["dispense"]).LastDispenseDate
				if di != dj {
					return di < dj
				}
				return hk[i] < hk[j]
			})
			for _, k := range hk {
				e, ok := dh[k].(map[string]any)
				if !ok {
					continue
				}
				is.DispenseHistory = append(is.DispenseHistory, Snapshot{
					Key: k, Status: str(e["prescriptionStatus"]), LastDispStatus: str(e["lastDispenseStatus"]),
					CompletionDate: str(e["completionDate"]), Dispense: spineDispense(e["dispense"]),
					LineItems: spineLineItems(e["lineItems"]),
				})
			}
		}
		r.Issues = append(r.Issues, is)
	}
	for _, it := range items {
		r.Items = append(r.Items, *it)
	}
	sort.Slice(r.Items, func(i, j int) bool { return r.Items[i].Order < r.Items[j].Order })
	if r.CurrentIssue == 0 && len(r.Issues) > 0 {
		r.CurrentIssue = r.Issues[0].Number
	}
	for id, e := range raw.ChangeLog {
		r.ChangeLog[id] = ChangeEntry{
			SCN: int64(num(e["SCN"])), Interaction: str(e["interactionID"]), Time: str(e["Timestamp"]),
			FromStatus: str(e["fromStatus"]), ToStatus: str(e["toStatus"]), SenderASID: str(e["agentSystemSDS"]),
			Answer: Answer{Kind: AnswerAck, AckType: AckAccepted, Text: strings.Trim(str(mapOf(e["Response Parameters"])["responseText"]), `"`)},
		}
	}
	if nad := strs(raw.Indexes["nextActivityNAD_bin"]); len(nad) > 0 {
		if i := strings.LastIndexByte(nad[0], '_'); i > 0 {
			r.NextActivity, r.NextActivityDate = nad[0][:i], nad[0][i+1:]
		}
	}
	if r.PrescriptionID == "" {
		return nil, epserr.Invalid("spine record: no prescriptionID")
	}
	return r, nil
}

func spineLineItems(v any) []IssueItem {
	var out []IssueItem
	for _, li := range list(v) {
		mr := num(li["maxRepeats"])
		if mr == 0 {
			mr = 1
		}
		out = append(out, IssueItem{ID: str(li["ID"]), Status: str(li["status"]), PreviousStatus: str(li["previousStatus"]), MaxRepeats: mr})
	}
	return out
}

func spineDispense(v any) Dispense {
	d := mapOf(v)
	return Dispense{
		DispenserODS: str(d["dispensingOrganization"]), LastNotificationID: str(d["lastDispenseNotificationGuid"]),
		LastNotificationMsgRef: str(d["lastDispenseNotificationMsgRef"]), LastDispenseDate: str(d["lastDispenseDate"]),
	}
}

func spineCancellation(c map[string]any) Cancellation {
	reasons := strs(c["Reasons"])
	code, text := "", strings.Join(reasons, "; ")
	if len(reasons) > 0 {
		code, _, _ = strings.Cut(reasons[0], ":")
	}
	item := ""
	if str(c["cancellationTarget"]) == "LineItem" {
		item = str(c["cancelLineItemRef"])
	}
	return Cancellation{
		ID: str(c["cancellationID"]), LineItemID: item, ODS: str(c["agentOrganization"]), ReasonCode: strings.TrimSpace(code),
		ReasonText: text, Time: str(c["cancellationTime"]), FailureReason: str(c["failureReason"]),
	}
}

// The Spine writes a missing value as false; these read such loose JSON.

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

func firstStr(vs ...any) string {
	for _, v := range vs {
		if s := str(v); s != "" {
			return s
		}
	}
	return ""
}

func num(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case string:
		n, _ := strconv.Atoi(strings.TrimSpace(x))
		return n
	}
	return 0
}

func strs(v any) []string {
	a, ok := v.([]any)
	if !ok {
		return nil
	}
	var out []string
	for _, e := range a {
		if s := str(e); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func list(v any) []map[string]any {
	a, ok := v.([]any)
	if !ok {
		return nil
	}
	var out []map[string]any
	for _, e := range a {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
