package hl7v3

import "strings"

// Flat views of the inbound interactions: the fields the lifecycle, the
// tracker and `eps inspect` need, without the HL7 V3 nesting. Times are as
// written (YYYYMMDD[HHMMSS]); an absent element gives "". The views read the
// message as it is: they check nothing (Decode did the structure, the
// lifecycle does the rules).

// Coded is a coded value as a message carries it.
type Coded struct {
	Code    string
	System  string
	Display string
	Text    string // free text beside the code, where the message has one
}

func coded(c CD) Coded { return Coded{Code: c.Code, System: c.CodeSystem, Display: c.DisplayName} }

// prescriptionID reads a prescription ID value: the short form (R2) in the
// extension under root …18.8, or a long form (R1) written as the root alone,
// as the older test-bench messages do.
func prescriptionID(id II) string {
	if id.Extension != "" {
		return id.Extension
	}
	if id.Root != RootShortID {
		return id.Root
	}
	return ""
}

// ReleaseRequestView is a patient (PORX_IN132004) or nominated (PORX_IN060102)
// release request.
type ReleaseRequestView struct {
	ID             string // the payload's id: the release response's inFulfillmentOf, the rejection's reversalOf
	EffectiveTime  string
	Nominated      bool   // a nominated release: every prescription nominated to the pharmacy
	PrescriptionID string // patient release only: the prescription asked for
	Dispenser      Person // the pharmacist; OrgODS is the pharmacy
}

// View returns the flat view of a patient release request.
func (r *PORX_MT121002UK30_PatientPrescriptionReleaseRequest) View() ReleaseRequestView {
	return ReleaseRequestView{ID: r.ID.Root, EffectiveTime: r.EffectiveTime.Value,
		PrescriptionID: prescriptionID(r.PertinentInformation.PertinentPrescriptionID.Value),
		Dispenser:      agentPersonView3(&r.Author.AgentPerson)}
}

// View returns the flat view of a nominated release request.
func (r *PORX_MT121001UK30_NominatedPrescriptionReleaseRequest) View() ReleaseRequestView {
	return ReleaseRequestView{ID: r.ID.Root, EffectiveTime: r.EffectiveTime.Value, Nominated: true,
		Dispenser: agentPersonView3(&r.Author.AgentPerson)}
}

// ReleaseResponseView is what a release response (PORX_IN070101 / 070103)
// carries: the released prescriptions as the dispenser sees them.
type ReleaseResponseView struct {
	ID               string
	EffectiveTime    string
	RequestPayloadID string // inFulfillmentOf/priorDownloadRequestRef: the release request's payload id
	Prescriptions    []Prescription
	Batch            BatchInfo
}

// BatchInfo is the pertinentBatchInfo of a release response (code system
// 2.16.840.1.113883.2.1.3.2.4.17.14): code 1 and code 2, whose meaning no
// source states; the fixtures show 1 = 1 and 2 = 25 for a response of one
// prescription, read here as the number in this response and the batch size.
type BatchInfo struct {
	InResponse int // code 1
	BatchSize  int // code 2
}

// View returns the flat view of a release response.
func (r *PORX_MT122002UK31_PrescriptionReleaseResponse) View() ReleaseResponseView {
	v := ReleaseResponseView{ID: r.ID.Root, EffectiveTime: r.EffectiveTime.Value,
		RequestPayloadID: r.InFulfillmentOf.PriorDownloadRequestRef.ID.Root}
	for i := range r.Component {
		v.Prescriptions = append(v.Prescriptions, r.Component[i].ParentPrescription.View())
	}
	for _, p := range r.PertinentInformation {
		n := atoi(p.PertinentBatchInfo.Value.Value)
		switch p.PertinentBatchInfo.Code.Code {
		case "1":
			v.Batch.InResponse = n
		case "2":
			v.Batch.BatchSize = n
		}
	}
	return v
}

// ReleaseRejectionView is a release rejection (PORX_IN110101).
type ReleaseRejectionView struct {
	ID               string
	EffectiveTime    string
	RequestPayloadID string // reversalOf/priorPrescriptionReleaseRequestRef
	Reason           Coded  // 2.16.840.1.113883.2.1.3.2.4.16.34
	Dispenser        Person // the dispenser holding the prescription, when the reason is 0004
	DispenserSince   string // performer/time
}

// View returns the flat view of a release rejection.
func (r *PORX_MT121201UK30_PrescriptionReleaseReject) View() ReleaseRejectionView {
	v := ReleaseRejectionView{ID: r.ID.Root, EffectiveTime: r.EffectiveTime.Value,
		RequestPayloadID: r.ReversalOf.PriorPrescriptionReleaseRequestRef.ID.Root}
	if pi := r.PertinentInformation; pi != nil {
		rr := &pi.PertinentRejectionReason
		if rr.Value != nil {
			v.Reason = coded(*rr.Value)
		}
		if rr.Text != nil {
			v.Reason.Text = rr.Text.Text
		}
		if rr.Performer != nil {
			v.Dispenser = agentPersonView3(&rr.Performer.AgentPerson)
			v.DispenserSince = rr.Performer.Time.Value
		}
	}
	return v
}

// CancelRequestView is a cancellation request (PORX_IN030101).
type CancelRequestView struct {
	ID               string // the cancel response's pertinentCancellationRequestRef
	EffectiveTime    string
	PrescriptionID   string
	LineItemID       string // the line item to cancel; "" cancels the whole prescription
	PrescriptionUUID string // pertinentOriginalPrescriptionRef
	NHSNumber        string
	Reasons          []Coded // 2.16.840.1.113883.2.1.3.2.4.16.27, with the prescriber's text
	Author           Person
	Responsible      Person
}

// View returns the flat view of a cancellation request.
func (r *PORX_MT135001UK32_CancellationRequest) View() CancelRequestView {
	v := CancelRequestView{ID: r.ID.Root, EffectiveTime: r.EffectiveTime.Value,
		PrescriptionID: prescriptionID(r.PertinentInformation2.PertinentPrescriptionID.Value),
		NHSNumber:      r.RecordTarget.Patient.ID.Extension,
		Author:         agentPersonView(&r.Author.AgentPerson),
		Responsible:    agentPersonView(&r.ResponsibleParty.AgentPerson)}
	if li := r.PertinentInformation1; li != nil {
		v.LineItemID = li.PertinentLineItemRef.ID.Root
	}
	if op := r.PertinentInformation3; op != nil {
		v.PrescriptionUUID = op.PertinentOriginalPrescriptionRef.ID.Root
	}
	for _, p := range r.PertinentInformation {
		c := coded(p.PertinentCancellationReason.Value)
		if t := p.PertinentCancellationReason.Text; t != nil {
			c.Text = t.Text
		}
		v.Reasons = append(v.Reasons, c)
	}
	return v
}

// CancelResponseView is a cancellation response (PORX_IN050101 / 050102).
type CancelResponseView struct {
	ID              string
	EffectiveTime   string
	PrescriptionID  string
	LineItemID      string
	CancelRequestID string // pertinentCancellationRequestRef
	Response        Coded  // 2.16.840.1.113883.2.1.3.2.4.17.19
	NHSNumber       string
	Dispenser       Person // performer: the dispenser holding the prescription
}

// View returns the flat view of a cancellation response.
func (r *PORX_MT135201UK31_CancellationResponse) View() CancelResponseView {
	v := CancelResponseView{ID: r.ID.Root, EffectiveTime: r.EffectiveTime.Value,
		PrescriptionID:  prescriptionID(r.PertinentInformation2.PertinentPrescriptionID.Value),
		CancelRequestID: r.PertinentInformation4.PertinentCancellationRequestRef.ID.Root,
		NHSNumber:       r.RecordTarget.Patient.ID.Extension}
	if li := r.PertinentInformation1; li != nil {
		v.LineItemID = li.PertinentLineItemRef.ID.Root
	}
	if pr := r.PertinentInformation3; pr != nil {
		v.Response = coded(pr.PertinentResponse.Value)
	}
	if p := r.Performer; p != nil {
		v.Dispenser = agentPersonView3(&p.AgentPerson)
	}
	return v
}

// DispenseView is a dispense notification (PORX_IN080101) or a dispense claim
// (PORX_IN090101): what was supplied against which prescription.
type DispenseView struct {
	ID                 string
	EffectiveTime      string
	PrescriptionID     string
	PrescriptionUUID   string // inFulfillmentOf/priorOriginalPrescriptionRef
	NHSNumber          string
	RecipientODS       string // primaryInformationRecipient: the pricing authority in real messages
	Dispenser          Person // author (notification) or legalAuthenticator (claim)
	DispenseTime       string // its time
	PrescriptionStatus Coded  // 2.16.840.1.113883.2.1.3.2.4.16.35
	NotDispensedReason Coded  // 2.16.840.1.113883.2.1.3.2.4.16.31, when nothing was dispensed
	RepeatLow          string // the issue dispensed (repeat dispensing)
	RepeatHigh         string
	ReleaseResponseID  string // sequelTo: the release response dispensed against
	ReplacesMessageID  string // replacementOf: the notification or claim amended
	ChargeExemption    Coded  // claims: coverage/coveringChargeExempt (2.16.840.1.113883.2.1.3.2.4.16.33)
	ExemptionEvidence  string // claims: the evidence seen, when recorded
	LineItems          []SuppliedItem
}

// SuppliedItem is one line of a dispense notification or claim.
type SuppliedItem struct {
	ID                 string // the supplied line item's own id
	PrescribedItemID   string // inFulfillmentOf/priorOriginalItemRef: the prescription's line item
	DMDCode            string // what was prescribed (notification only)
	Description        string
	Status             Coded // 2.16.840.1.113883.2.1.3.2.4.17.23
	NotDispensedReason Coded
	RequestedQuantity  string // component1/supplyRequest (notification only)
	RequestedUnit      string
	RepeatLow          string
	RepeatHigh         string
	Supplied           []SuppliedQuantity
}

// SuppliedQuantity is one product supplied for a line.
type SuppliedQuantity struct {
	Quantity     string
	UnitCode     string // dm+d unit of measure
	UnitDisplay  string
	DMDCode      string // the product supplied
	Description  string
	Instructions string   // pertinentSupplyInstructions (notification)
	ChargePaid   string   // claims: pertinentChargePayment (true/false)
	Endorsements []string // claims: dispensing endorsement codes (2.16.840.1.113883.2.1.3.2.4.16.29)
}

func quantity(q PQ) (value, unitCode, unitDisplay string) {
	value = q.Value
	if len(q.Translation) > 0 {
		t := q.Translation[0]
		unitCode, unitDisplay = t.Code, t.DisplayName
		if value == "" {
			value = t.Value
		}
	}
	return value, unitCode, unitDisplay
}

// View returns the flat view of a dispense notification.
func (n *PORX_MT024001UK31_DispenseNotification) View() DispenseView {
	h := &n.PertinentInformation1.PertinentSupplyHeader
	v := DispenseView{ID: n.ID.Root, EffectiveTime: n.EffectiveTime.Value,
		PrescriptionID:     prescriptionID(h.PertinentInformation4.PertinentPrescriptionID.Value),
		PrescriptionUUID:   h.InFulfillmentOf.PriorOriginalPrescriptionRef.ID.Root,
		NHSNumber:          n.RecordTarget.Patient.ID.Extension,
		RecipientODS:       agentOrgODS(&n.PrimaryInformationRecipient.AgentOrg),
		Dispenser:          agentPersonView3(&h.Author.AgentPerson),
		DispenseTime:       h.Author.Time.Value,
		PrescriptionStatus: coded(h.PertinentInformation3.PertinentPrescriptionStatus.Value),
		ReleaseResponseID:  n.SequelTo.PriorPrescriptionReleaseEventRef.ID.Root}
	v.RepeatLow, v.RepeatHigh = repeat(h.RepeatNumber)
	if nd := h.PertinentInformation2; nd != nil {
		v.NotDispensedReason = coded(nd.PertinentNonDispensingReason.Value)
	}
	if r := n.ReplacementOf; r != nil {
		v.ReplacesMessageID = r.PriorMessageRef.ID.Root
	}
	for i := range h.PertinentInformation1 {
		li := &h.PertinentInformation1[i].PertinentSuppliedLineItem
		item := SuppliedItem{ID: li.ID.Root,
			PrescribedItemID: li.InFulfillmentOf.PriorOriginalItemRef.ID.Root,
			DMDCode:          li.Consumable.RequestedManufacturedProduct.ManufacturedRequestedMaterial.Code.Code,
			Description:      li.Consumable.RequestedManufacturedProduct.ManufacturedRequestedMaterial.Code.DisplayName,
			Status:           coded(li.PertinentInformation3.PertinentItemStatus.Value)}
		item.RequestedQuantity, item.RequestedUnit, _ = quantity(li.Component1.SupplyRequest.Quantity)
		item.RepeatLow, item.RepeatHigh = repeat(li.RepeatNumber)
		if nd := li.PertinentInformation2; nd != nil {
			item.NotDispensedReason = coded(nd.PertinentNonDispensingReason.Value)
		}
		for j := range li.Component {
			q := &li.Component[j].SuppliedLineItemQuantity
			s := SuppliedQuantity{DMDCode: q.Product.SuppliedManufacturedProduct.ManufacturedSuppliedMaterial.Code.Code,
				Description: q.Product.SuppliedManufacturedProduct.ManufacturedSuppliedMaterial.Code.DisplayName}
			s.Quantity, s.UnitCode, s.UnitDisplay = quantity(q.Quantity)
			var ins []string
			for _, si := range q.PertinentInformation1 {
				if t := si.PertinentSupplyInstructions.Value.Text; t != "" {
					ins = append(ins, t)
				}
			}
			s.Instructions = strings.Join(ins, "\n")
			item.Supplied = append(item.Supplied, s)
		}
		v.LineItems = append(v.LineItems, item)
	}
	return v
}

// View returns the flat view of a dispense claim.
func (c *PORX_MT142001UK31_DispenseClaim) View() DispenseView {
	h := &c.PertinentInformation1.PertinentSupplyHeader
	v := DispenseView{ID: c.ID.Root, EffectiveTime: c.EffectiveTime.Value,
		PrescriptionID:     prescriptionID(h.PertinentInformation4.PertinentPrescriptionID.Value),
		PrescriptionUUID:   h.InFulfillmentOf.PriorOriginalPrescriptionRef.ID.Root,
		RecipientODS:       agentOrgODS(&c.PrimaryInformationRecipient.AgentOrg),
		Dispenser:          agentPersonView3(&h.LegalAuthenticator.AgentPerson),
		DispenseTime:       h.LegalAuthenticator.Time.Value,
		PrescriptionStatus: coded(h.PertinentInformation3.PertinentPrescriptionStatus.Value),
		ReleaseResponseID:  c.SequelTo.PriorPrescriptionReleaseEventRef.ID.Root}
	v.RepeatLow, v.RepeatHigh = repeat(h.RepeatNumber)
	if nd := h.PertinentInformation2; nd != nil {
		v.NotDispensedReason = coded(nd.PertinentNonDispensingReason.Value)
	}
	if r := c.ReplacementOf; r != nil {
		v.ReplacesMessageID = r.PriorMessageRef.ID.Root
	}
	if cv := c.Coverage; cv != nil {
		v.ChargeExemption = coded(cv.CoveringChargeExempt.Value)
		if a := cv.CoveringChargeExempt.Authorization; a != nil {
			v.ExemptionEvidence = a.AuthorizingEvidenceSeen.Code.Code
		}
	}
	for i := range h.PertinentInformation1 {
		li := &h.PertinentInformation1[i].PertinentSuppliedLineItem
		item := SuppliedItem{ID: li.ID.Root,
			PrescribedItemID: li.InFulfillmentOf.PriorOriginalItemRef.ID.Root,
			Status:           coded(li.PertinentInformation3.PertinentItemStatus.Value)}
		item.RepeatLow, item.RepeatHigh = repeat(li.RepeatNumber)
		if nd := li.PertinentInformation2; nd != nil {
			item.NotDispensedReason = coded(nd.PertinentNonDispensingReason.Value)
		}
		for j := range li.Component {
			q := &li.Component[j].SuppliedLineItemQuantity
			s := SuppliedQuantity{DMDCode: q.Product.SuppliedManufacturedProduct.ManufacturedSuppliedMaterial.Code.Code,
				Description: q.Product.SuppliedManufacturedProduct.ManufacturedSuppliedMaterial.Code.DisplayName,
				ChargePaid:  q.PertinentInformation1.PertinentChargePayment.Value.Value}
			s.Quantity, s.UnitCode, s.UnitDisplay = quantity(q.Quantity)
			for _, e := range q.PertinentInformation2 {
				s.Endorsements = append(s.Endorsements, e.PertinentDispensingEndorsement.Value.Code)
			}
			item.Supplied = append(item.Supplied, s)
		}
		v.LineItems = append(v.LineItems, item)
	}
	return v
}

// ReturnView is a dispense proposal return (PORX_IN100101): the dispenser hands
// a released prescription back.
type ReturnView struct {
	ID                string
	EffectiveTime     string
	PrescriptionID    string
	Reason            Coded  // 2.16.840.1.113883.2.1.3.2.4.16.28
	RepeatInstance    string // the issue returned (repeat dispensing)
	ReleaseResponseID string // reversalOf/priorPrescriptionReleaseResponseRef
	Dispenser         Person
}

// View returns the flat view of a dispense proposal return.
func (r *PORX_MT121301UK31_DispenseProposalReturn) View() ReturnView {
	v := ReturnView{ID: r.ID.Root, EffectiveTime: r.EffectiveTime.Value,
		PrescriptionID: prescriptionID(r.PertinentInformation1.PertinentPrescriptionID.Value),
		Reason:         coded(r.PertinentInformation3.PertinentReturnReason.Value),
		Dispenser:      agentPersonView3(&r.Author.AgentPerson)}
	if ri := r.PertinentInformation2; ri != nil {
		v.RepeatInstance = ri.PertinentRepeatInstanceInfo.Value.Value
	}
	if ro := r.ReversalOf; ro != nil {
		v.ReleaseResponseID = ro.PriorPrescriptionReleaseResponseRef.ID.Root
	}
	return v
}

// WithdrawView is a dispenser withdraw (PORX_IN510101): the last dispense
// notification(s) are taken back.
type WithdrawView struct {
	ID                      string
	EffectiveTime           string
	PrescriptionID          string // pertinentWithdrawID
	NHSNumber               string
	Type                    Coded  // 2.16.840.1.113883.2.1.3.2.4.17.109 (LD last dispense, AD all dispenses)
	Reason                  Coded  // 2.16.840.1.113883.2.1.3.2.4.17.110
	RepeatInstance          string // the issue (repeat dispensing)
	DispenseNotificationIDs []string
	RoleProfileID           string // the withdrawing user (AgentPersonSDS)
	SDSUserID               string
}

// View returns the flat view of a dispenser withdraw.
func (w *PORX_MT136001UK31_ETPWithdraw) View() WithdrawView {
	v := WithdrawView{ID: w.ID.Root, EffectiveTime: w.EffectiveTime.Value,
		PrescriptionID: prescriptionID(w.PertinentInformation3.PertinentWithdrawID.Value),
		NHSNumber:      w.RecordTarget.Patient.ID.Extension,
		Type:           coded(w.PertinentInformation2.PertinentWithdrawType.Value),
		Reason:         coded(w.PertinentInformation5.PertinentWithdrawReason.Value),
		RoleProfileID:  w.Author.AgentPersonSDS.ID.Extension,
		SDSUserID:      w.Author.AgentPersonSDS.AgentPersonSDS.ID.Extension}
	if ri := w.PertinentInformation1; ri != nil {
		v.RepeatInstance = ri.PertinentRepeatInstanceInfo.Value.Value
	}
	for _, d := range w.PertinentInformation4 {
		v.DispenseNotificationIDs = append(v.DispenseNotificationIDs, d.PertinentDispenseNotificationRef.ID.Root)
	}
	return v
}

// RebuildView is a rebuild of the dispense history (PORX_IN540101): the
// dispense notifications that should stand, in order, replayed.
type RebuildView struct {
	ID             string
	EffectiveTime  string
	PrescriptionID string
	Reason         Coded // pertinentWithdrawReason (2.16.840.1.113883.2.1.3.2.4.17.110)
	RepeatInstance string
	Notifications  []DispenseView // in sequenceNumber order as sent
	SequenceNumber []string       // each notification's sequenceNumber
}

// View returns the flat view of a rebuild of the dispense history.
func (r *PORX_MT136002UK31_RebuildDispenseHistory) View() RebuildView {
	v := RebuildView{ID: r.ID.Root, EffectiveTime: r.EffectiveTime.Value,
		PrescriptionID: prescriptionID(r.PertinentInformation1.PertinentPrescriptionID.Value),
		Reason:         coded(r.PertinentInformation3.PertinentWithdrawReason.Value)}
	if ri := r.PertinentInformation2; ri != nil {
		v.RepeatInstance = ri.PertinentRepeatInstanceInfo.Value.Value
	}
	for i := range r.Component {
		v.Notifications = append(v.Notifications, r.Component[i].DispenseNotification.View())
		v.SequenceNumber = append(v.SequenceNumber, r.Component[i].SequenceNumber.Value)
	}
	return v
}

// ReimbursementView is a reimbursement claim (PORX_IN370101) or no-claim
// notification (PORX_IN460101) as the Spine sends it to the pricing
// authority.
type ReimbursementView struct {
	ID            string
	EffectiveTime string
	Replacement   string // pertinentReplacementInd: "true" when it replaces an earlier claim
	// Templates are the templateId extensions of the documents carried
	// (component1 prescription, component2 claim, component3/4 notifications).
	Templates []string
}

// View returns the flat view of a reimbursement claim.
func (r *PORX_MT142006UK31_ReimbursmentClaim) View() ReimbursementView {
	v := ReimbursementView{ID: r.ID.Root, EffectiveTime: r.EffectiveTime.Value,
		Replacement: r.PertinentInformation.PertinentReplacementInd.Value.Value,
		Templates:   []string{r.Component1.TemplateID.Extension}}
	if c := r.Component2; c != nil {
		v.Templates = append(v.Templates, c.TemplateID.Extension)
	}
	if c := r.Component3; c != nil {
		v.Templates = append(v.Templates, c.TemplateID.Extension)
	}
	if c := r.Component4; c != nil {
		v.Templates = append(v.Templates, c.TemplateID.Extension)
	}
	return v
}

func agentOrgODS(o *UKCT_MT120401UK02_AgentOrg) string {
	switch {
	case o.AgentOrganization != nil && o.AgentOrganization.ID != nil:
		return o.AgentOrganization.ID.Extension
	case o.AgentOrganizationSDS != nil:
		return o.AgentOrganizationSDS.ID.Extension
	case o.ID != nil:
		return o.ID.Extension
	}
	return ""
}

// agentPersonView3 is agentPersonView for the UKCT_MT120201UK03 AgentPerson
// dispensers' messages carry.
func agentPersonView3(ap *UKCT_MT120201UK03_AgentPerson) Person {
	var v Person
	if ap.ID != nil {
		v.RoleProfileID = ap.ID.Extension
	}
	if ap.Code != nil {
		v.JobRole = ap.Code.Code
	}
	if p := ap.AgentPerson; p != nil {
		v.SDSUserID, v.ProfessionalCode = PersonID(p.ID)
		if p.Name != nil {
			v.Name = strings.TrimSpace(p.Name.String())
		}
	}
	if s := ap.AgentPersonSDS; s != nil {
		v.SDSUserID = s.ID.Extension
	}
	if o := ap.RepresentedOrganization; o != nil {
		if o.ID != nil {
			v.OrgODS = o.ID.Extension
		}
		if o.Name != nil {
			v.OrgName = o.Name.String()
		}
	}
	if o := ap.RepresentedOrganizationSDS; o != nil && v.OrgODS == "" {
		v.OrgODS = o.ID.Extension
	}
	return v
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
		n = n*10 + int(s[i]-'0')
		if n > 1<<30 {
			return 0
		}
	}
	return n
}
