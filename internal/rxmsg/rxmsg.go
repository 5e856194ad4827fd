// Package rxmsg maps decoded HL7 V3 messages (internal/hl7v3) to the plain
// input values of the lifecycle (internal/rx): the fields each Spine rule
// reads, where the Spine's validation stylesheets read them
// (../shared/fixtures/hl7v3/spine-xslt: Parent_Prescription_PORX_MT132004UK31,
// Dispense_Notification_PORX_MT024001UK31, …). It checks nothing the lifecycle
// checks; it fails only where a value cannot be read as the type rx needs (a
// repeat number that is not an integer), with the Spine's 5000 and text.
package rxmsg

import (
	"fmt"
	"strings"
	"time"

	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/rx"
)

// Input maps a decoded message to its rx input type: rx.Prescription,
// rx.CancelRequest, rx.PatientReleaseRequest, rx.NominatedReleaseRequest,
// rx.DispenseProposalReturn, rx.DispenseNotification, rx.DispenseClaim,
// rx.DispenserWithdraw or rx.RebuildDispenseHistory. Meta comes from the
// transmission wrapper (message id, interaction, sender ASID) and the author's
// organisation (SenderODS). Interactions the Spine only sends are refused
// (kind Unsupported).
func Input(m *hl7v3.Message, received time.Time) (any, error) {
	if m == nil {
		return nil, epserr.Invalid("no message")
	}
	in, err := payloadInput(m.Payload(), metaOf(m, received))
	if err != nil {
		return nil, err
	}
	if in == nil {
		e := epserr.Invalid("interaction %s is not one the Spine receives", m.Interaction)
		e.Kind = epserr.KindUnsupported
		return nil, e
	}
	return in, nil
}

// PrescriptionInput maps a parent prescription message (PORX_IN020101 /
// 020102) to rx.Prescription.
func PrescriptionInput(m *hl7v3.Message, received time.Time) (rx.Prescription, error) {
	if m == nil {
		return rx.Prescription{}, epserr.Invalid("no message")
	}
	pp, ok := m.Payload().(*hl7v3.PORX_MT132004UK31_ParentPrescription)
	if !ok {
		return rx.Prescription{}, epserr.Invalid("interaction %s is not a parent prescription", m.Interaction)
	}
	return Prescription(pp, metaOf(m, received))
}

// metaOf reads the transmission wrapper. SenderODS is filled per payload.
func metaOf(m *hl7v3.Message, received time.Time) rx.Meta {
	h := m.Header()
	return rx.Meta{
		MessageID:   strings.ToUpper(h.MessageID),
		Interaction: m.Interaction,
		SenderASID:  h.SenderASID,
		Received:    received,
	}
}

// PayloadInput maps a payload-only document (hl7v3.DecodePayload: the test
// bench's dispenser requests) to its rx input, with meta supplied by the caller.
func PayloadInput(p *hl7v3.Payload, meta rx.Meta) (any, error) {
	if p == nil {
		return nil, epserr.Invalid("no payload")
	}
	in, err := payloadInput(p.Body, meta)
	if err != nil {
		return nil, err
	}
	if in == nil {
		e := epserr.Invalid("payload %s is not one the Spine receives", p.Root)
		e.Kind = epserr.KindUnsupported
		return nil, e
	}
	return in, nil
}

// payloadInput maps one decoded payload to its rx input; (nil, nil) for a
// payload the Spine does not receive.
func payloadInput(payload any, meta rx.Meta) (any, error) {
	switch b := payload.(type) {
	case *hl7v3.PORX_MT132004UK31_ParentPrescription:
		return Prescription(b, meta)
	case *hl7v3.PORX_MT135001UK32_CancellationRequest:
		return Cancel(b, meta)
	case *hl7v3.PORX_MT121002UK30_PatientPrescriptionReleaseRequest:
		return PatientRelease(b, meta), nil
	case *hl7v3.PORX_MT121001UK30_NominatedPrescriptionReleaseRequest:
		return NominatedRelease(b, meta), nil
	case *hl7v3.PORX_MT121301UK31_DispenseProposalReturn:
		return Return(b, meta)
	case *hl7v3.PORX_MT024001UK31_DispenseNotification:
		return Notification(b, meta)
	case *hl7v3.PORX_MT142001UK31_DispenseClaim:
		return Claim(b, meta)
	case *hl7v3.PORX_MT136001UK31_ETPWithdraw:
		return Withdraw(b, meta)
	case *hl7v3.PORX_MT136002UK31_RebuildDispenseHistory:
		return Rebuild(b, meta)
	}
	return nil, nil
}

// integer reads a repeat number or count: "" is 0 (absent); anything but
// digits is the Spine's "<name> is not an integer" (ESS REGEX_INTEGER12).
func integer(name, s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if len(s) > 12 {
		return 0, epserr.Invalid("%s is not an integer", name)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, epserr.Invalid("%s is not an integer", name)
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, nil
}

func repeatOf(name string, r *hl7v3.IVL_INT) (low, high int, err error) {
	if r == nil {
		return 0, 0, nil
	}
	if r.Low != nil {
		if low, err = integer(name+"RepeatLow", r.Low.Value); err != nil {
			return
		}
	}
	if r.High != nil {
		high, err = integer(name+"RepeatHigh", r.High.Value)
	}
	return
}

// hasSignatureElement is the Spine schematron's test:
// count(signatureText/ds:Signature) = 1 (Parent_Prescription_PORX_MT132004UK31.xsl).
// Whether the signature is valid is internal/signature's question.
func hasSignatureElement(ed *hl7v3.ED) bool {
	for _, raw := range ed.XML {
		s := string(raw)
		if strings.Contains(s, hl7v3.XMLDSigNS) && (strings.HasPrefix(strings.TrimSpace(s), "<Signature") ||
			strings.Contains(s, ":Signature")) {
			return true
		}
	}
	return false
}

// Prescription maps a ParentPrescription payload.
func Prescription(pp *hl7v3.PORX_MT132004UK31_ParentPrescription, meta rx.Meta) (rx.Prescription, error) {
	v := pp.View()
	p := &pp.PertinentInformation1.PertinentPrescription
	meta.SenderODS = v.Author.OrgODS
	out := rx.Prescription{
		Meta:                  meta,
		ID:                    strings.ToUpper(v.ShortID),
		UUID:                  strings.ToUpper(v.UUID),
		EventID:               pp.ID.Root,
		TreatmentType:         v.TreatmentType,
		PrescriptionType:      v.PrescriptionType,
		SitePreference:        v.SitePreference,
		PrescriptionTime:      v.EffectiveTime,
		SignedTime:            v.AuthorTime,
		Signed:                hasSignatureElement(&p.Author.SignatureText),
		PrescriberODS:         v.Author.OrgODS,
		PrescriberRoleProfile: v.Author.RoleProfileID,
		PrescriberSDSUser:     v.Author.SDSUserID,
		PrescriberJobRole:     v.Author.JobRole,
		PrescriberCode:        v.Author.ProfessionalCode,
		PrescriberName:        v.Author.Name,
		ResponsibleODS:        v.Responsible.OrgODS,
		CommissionerODS:       v.Author.CommissionerODS,
		NHSNumber:             v.NHSNumber,
		Patient: rx.Patient{
			Prefix: v.Patient.Prefix, Given: v.Patient.Given, Family: v.Patient.Family,
			BirthDate: v.Patient.BirthDate, Gender: v.Patient.Gender, AddressLines: v.Patient.AddressLines,
			Postcode: v.Patient.Postcode, GPODS: v.Patient.GPODS,
		},
		NominatedODS:       v.NominatedODS,
		DaysSupplyText:     strings.TrimSpace(v.ExpectedUseDays),
		DispenseWindowLow:  v.DispenseLow,
		DispenseWindowHigh: v.DispenseHigh,
		ReviewDate:         v.ReviewDate,
	}
	if names := pp.RecordTarget.Patient.PatientPerson.Name; len(names) > 0 {
		for _, part := range names[0].Parts {
			if part.Name == "suffix" && part.Text != "" {
				out.Patient.Suffix = strings.TrimSpace(out.Patient.Suffix + " " + part.Text)
			}
		}
	}
	var err error
	if out.RepeatHigh, err = integer("prescriptionRepeatHigh", v.RepeatHigh); err != nil {
		return out, err
	}
	if out.RepeatLow, err = integer("prescriptionRepeatLow", v.RepeatLow); err != nil {
		return out, err
	}
	if n, ok := atoiOK(out.DaysSupplyText); ok {
		out.DaysSupply = n
	}
	for i, li := range v.LineItems {
		item := rx.LineItem{
			ID: strings.ToUpper(li.ID), DMDCode: li.DMDCode, Description: li.Description, Quantity: li.Quantity,
			UnitCode: li.UnitCode, UnitDisplay: li.UnitDisplay, Dosage: li.Dosage,
			AdditionalInstructions: li.AdditionalInstructions,
		}
		if item.RepeatHigh, err = integer(fmt.Sprintf("repeat.High for line item %d", i+1), li.RepeatHigh); err != nil {
			return out, err
		}
		if item.RepeatLow, err = integer(fmt.Sprintf("repeat.Low for line item %d", i+1), li.RepeatLow); err != nil {
			return out, err
		}
		out.LineItems = append(out.LineItems, item)
	}
	return out, nil
}

func atoiOK(s string) (int, bool) {
	n, err := integer("", s)
	return n, err == nil && s != ""
}

// idOf reads a prescription ID: the extension (root …18.8, short form), or
// for a release 1 long-form ID the root itself, as the Spine's stylesheets
// read targetPrescriptionID (hl7:value/@extension or hl7:value/@root).
func idOf(v hl7v3.II) string {
	if v.Extension != "" {
		return strings.ToUpper(strings.TrimSpace(v.Extension))
	}
	if v.Root != "2.16.840.1.113883.2.1.3.2.4.18.8" && v.Root != "2.16.840.1.113883.2.1.3.2.4.18.4" {
		return strings.ToUpper(strings.TrimSpace(v.Root))
	}
	return ""
}

func ii(id *hl7v3.II) string {
	if id == nil {
		return ""
	}
	return id.Extension
}

// agent is who an AgentPerson names: the organisation, the role profile,
// the person (SDS user ID or professional code) and their name.
type agent struct {
	ods, roleProfile, sdsUser, code, name string
}

// agent03 reads a dispenser's AgentPerson (UKCT_MT120201UK03).
func agent03(ap *hl7v3.UKCT_MT120201UK03_AgentPerson) agent {
	a := agent{roleProfile: ii(ap.ID)}
	if ap.AgentPersonSDS != nil {
		a.sdsUser = ap.AgentPersonSDS.ID.Extension
	}
	if p := ap.AgentPerson; p != nil {
		user, code := hl7v3.PersonID(p.ID)
		if a.sdsUser == "" {
			a.sdsUser = user
		}
		a.code = code
		if p.Name != nil {
			a.name = strings.TrimSpace(p.Name.String())
		}
	}
	if o := ap.RepresentedOrganization; o != nil {
		a.ods = ii(o.ID)
	}
	if a.ods == "" && ap.RepresentedOrganizationSDS != nil {
		a.ods = ap.RepresentedOrganizationSDS.ID.Extension
	}
	return a
}

// agent04 reads a prescriber's AgentPerson (UKCT_MT120201UK04).
func agent04(ap *hl7v3.UKCT_MT120201UK04_AgentPerson) agent {
	a := agent{roleProfile: ii(ap.ID)}
	if ap.AgentPersonSDS != nil {
		a.sdsUser = ap.AgentPersonSDS.ID.Extension
	}
	if p := ap.AgentPerson; p != nil {
		user, code := hl7v3.PersonID(p.ID)
		if a.sdsUser == "" {
			a.sdsUser = user
		}
		a.code = code
		if p.Name != nil {
			a.name = strings.TrimSpace(p.Name.String())
		}
	}
	if o := ap.RepresentedOrganization; o != nil {
		a.ods = ii(o.ID)
	}
	if a.ods == "" && ap.RepresentedOrganizationSDS != nil {
		a.ods = ap.RepresentedOrganizationSDS.ID.Extension
	}
	return a
}

// Cancel maps a CancellationRequest payload. The reasons (up to eight) are
// kept as the first code and all texts joined, as ESS keeps "code: text".
func Cancel(c *hl7v3.PORX_MT135001UK32_CancellationRequest, meta rx.Meta) (rx.CancelRequest, error) {
	a := agent04(&c.Author.AgentPerson)
	meta.SenderODS = a.ods
	out := rx.CancelRequest{
		Meta:              meta,
		RequestID:         strings.ToUpper(c.ID.Root),
		PrescriptionID:    idOf(c.PertinentInformation2.PertinentPrescriptionID.Value),
		NHSNumber:         c.RecordTarget.Patient.ID.Extension,
		EffectiveTime:     c.EffectiveTime.Value,
		AuthorRoleProfile: a.roleProfile, AuthorSDSUser: a.sdsUser, AuthorCode: a.code, AuthorName: a.name,
	}
	out.ResponsibleODS = agent04(&c.ResponsibleParty.AgentPerson).ods
	if c.PertinentInformation1 != nil {
		out.LineItemID = strings.ToUpper(c.PertinentInformation1.PertinentLineItemRef.ID.Root)
	}
	if c.PertinentInformation3 != nil {
		out.PrescriptionUUID = strings.ToUpper(c.PertinentInformation3.PertinentOriginalPrescriptionRef.ID.Root)
	}
	var texts []string
	for _, r := range c.PertinentInformation {
		cr := r.PertinentCancellationReason
		if out.ReasonCode == "" {
			out.ReasonCode = cr.Value.Code
		}
		t := cr.Value.DisplayName
		if cr.Text != nil && strings.TrimSpace(cr.Text.Text) != "" {
			t = strings.TrimSpace(cr.Text.Text)
		}
		texts = append(texts, cr.Value.Code+": "+t)
	}
	out.ReasonText = strings.Join(texts, "; ")
	return out, nil
}

// PatientRelease maps a PatientPrescriptionReleaseRequest payload.
func PatientRelease(r *hl7v3.PORX_MT121002UK30_PatientPrescriptionReleaseRequest, meta rx.Meta) rx.PatientReleaseRequest {
	a := agent03(&r.Author.AgentPerson)
	meta.SenderODS = a.ods
	return rx.PatientReleaseRequest{
		Meta:                 meta,
		RequestID:            strings.ToUpper(r.ID.Root),
		PrescriptionID:       idOf(r.PertinentInformation.PertinentPrescriptionID.Value),
		EffectiveTime:        r.EffectiveTime.Value,
		DispenserRoleProfile: a.roleProfile, DispenserSDSUser: a.sdsUser, DispenserName: a.name,
	}
}

// NominatedRelease maps a NominatedPrescriptionReleaseRequest payload.
func NominatedRelease(r *hl7v3.PORX_MT121001UK30_NominatedPrescriptionReleaseRequest, meta rx.Meta) rx.NominatedReleaseRequest {
	a := agent03(&r.Author.AgentPerson)
	meta.SenderODS = a.ods
	return rx.NominatedReleaseRequest{
		Meta: meta, RequestID: strings.ToUpper(r.ID.Root), EffectiveTime: r.EffectiveTime.Value,
		DispenserRoleProfile: a.roleProfile, DispenserSDSUser: a.sdsUser, DispenserName: a.name,
	}
}

// Return maps a DispenseProposalReturn payload.
func Return(r *hl7v3.PORX_MT121301UK31_DispenseProposalReturn, meta rx.Meta) (rx.DispenseProposalReturn, error) {
	meta.SenderODS = agent03(&r.Author.AgentPerson).ods
	out := rx.DispenseProposalReturn{
		Meta:           meta,
		ReturnID:       strings.ToUpper(r.ID.Root),
		PrescriptionID: idOf(r.PertinentInformation1.PertinentPrescriptionID.Value),
		ReasonCode:     r.PertinentInformation3.PertinentReturnReason.Value.Code,
		ReasonText:     r.PertinentInformation3.PertinentReturnReason.Value.DisplayName,
		EffectiveTime:  r.EffectiveTime.Value,
	}
	if r.ReversalOf != nil {
		out.ReleaseResponseRef = strings.ToUpper(r.ReversalOf.PriorPrescriptionReleaseResponseRef.ID.Root)
	}
	if r.PertinentInformation2 != nil {
		n, err := integer("currentInstance", r.PertinentInformation2.PertinentRepeatInstanceInfo.Value.Value)
		if err != nil {
			return out, err
		}
		out.Issue = n
	}
	return out, nil
}

// Notification maps a DispenseNotification payload.
func Notification(d *hl7v3.PORX_MT024001UK31_DispenseNotification, meta rx.Meta) (rx.DispenseNotification, error) {
	h := &d.PertinentInformation1.PertinentSupplyHeader
	ods := agent03(&h.Author.AgentPerson).ods
	if meta.SenderODS == "" {
		meta.SenderODS = ods
	}
	out := rx.DispenseNotification{
		Meta:               meta,
		NotificationID:     strings.ToUpper(d.ID.Root),
		PrescriptionID:     idOf(h.PertinentInformation4.PertinentPrescriptionID.Value),
		PrescriptionUUID:   strings.ToUpper(h.InFulfillmentOf.PriorOriginalPrescriptionRef.ID.Root),
		NHSNumber:          d.RecordTarget.Patient.ID.Extension,
		RecipientODS:       agentOrgODS(&d.PrimaryInformationRecipient.AgentOrg),
		DispenserODS:       ods,
		PrescriptionStatus: h.PertinentInformation3.PertinentPrescriptionStatus.Value.Code,
		// The notification's own effectiveTime: what the Spine's schematron
		// reports as dispenseNotificationTime (Dispense_Notification_PORX_MT024001UK31.xsl).
		DispenseTime:       d.EffectiveTime.Value,
		ReleaseResponseRef: strings.ToUpper(d.SequelTo.PriorPrescriptionReleaseEventRef.ID.Root),
	}
	if d.ReplacementOf != nil {
		out.ReplacementOf = strings.ToUpper(d.ReplacementOf.PriorMessageRef.ID.Root)
	}
	if h.PertinentInformation2 != nil {
		out.NotDispensedReason = h.PertinentInformation2.PertinentNonDispensingReason.Value.Code
	}
	var err error
	if out.RepeatLow, out.RepeatHigh, err = repeatOf("prescription", h.RepeatNumber); err != nil {
		return out, err
	}
	for i := range h.PertinentInformation1 {
		sli := &h.PertinentInformation1[i].PertinentSuppliedLineItem
		item := rx.DispensedItem{
			ID:             strings.ToUpper(sli.InFulfillmentOf.PriorOriginalItemRef.ID.Root),
			SuppliedItemID: strings.ToUpper(sli.ID.Root),
			Status:         sli.PertinentInformation3.PertinentItemStatus.Value.Code,
			Description:    sli.Consumable.RequestedManufacturedProduct.ManufacturedRequestedMaterial.Code.DisplayName,
		}
		if item.RepeatLow, item.RepeatHigh, err = repeatOf(fmt.Sprintf("dnLineItem%d", i+1), sli.RepeatNumber); err != nil {
			return out, err
		}
		defaultRepeats(&item, out.RepeatLow, out.RepeatHigh)
		if sli.PertinentInformation2 != nil {
			item.NotDispensedReason = sli.PertinentInformation2.PertinentNonDispensingReason.Value.Code
		}
		var qs []quantity
		for _, c := range sli.Component {
			q := c.SuppliedLineItemQuantity
			qs = append(qs, quantityOf(q.Quantity))
			if item.SuppliedDMDCode == "" {
				item.SuppliedDMDCode = q.Product.SuppliedManufacturedProduct.ManufacturedSuppliedMaterial.Code.Code
			}
		}
		item.Quantity, item.UnitCode = sumQuantities(qs)
		if rt := sli.PertinentInformation1; rt != nil {
			item.RunningTotal = runningTotal(quantityOf(rt.PertinentRunningTotal.Value), item.UnitCode)
		}
		out.Items = append(out.Items, item)
	}
	return out, nil
}

// defaultRepeats is ESS _build_line_dict: an item without repeat numbers
// takes the prescription's from the same message.
func defaultRepeats(it *rx.DispensedItem, low, high int) {
	if it.RepeatHigh == 0 {
		it.RepeatHigh = high
	}
	if it.RepeatLow == 0 {
		it.RepeatLow = low
	}
}

func agentOrgODS(ao *hl7v3.UKCT_MT120401UK02_AgentOrg) string {
	if o := ao.AgentOrganization; o != nil && o.ID != nil {
		return o.ID.Extension
	}
	if o := ao.AgentOrganizationSDS; o != nil {
		return o.ID.Extension
	}
	return ""
}

type quantity struct{ value, unit string }

// runningTotal keeps a running total only when it is in the unit the item
// was supplied in (a total in another unit cannot be compared).
func runningTotal(rt quantity, unit string) string {
	if rt.unit != "" && unit != "" && rt.unit != unit {
		return ""
	}
	return rt.value
}

// quantityOf reads a supplied quantity in its dm+d unit (the translation), or
// the value as written when no translation is given.
func quantityOf(pq hl7v3.PQ) quantity {
	if len(pq.Translation) > 0 {
		t := pq.Translation[0]
		v := t.Value
		if v == "" {
			v = pq.Value
		}
		return quantity{v, t.Code}
	}
	return quantity{pq.Value, ""}
}

// sumQuantities adds the quantities of one item's components when they share
// a unit; otherwise the first is kept as written.
func sumQuantities(qs []quantity) (value, unit string) {
	if len(qs) == 0 {
		return "", ""
	}
	if len(qs) == 1 {
		return qs[0].value, qs[0].unit
	}
	total, ok := rx.ParseQuantity(qs[0].value)
	for _, q := range qs[1:] {
		v, vok := rx.ParseQuantity(q.value)
		if !ok || !vok || q.unit != qs[0].unit {
			return qs[0].value, qs[0].unit
		}
		total = total.Add(v)
	}
	return total.String(), qs[0].unit
}

// Claim maps a DispenseClaim payload.
func Claim(c *hl7v3.PORX_MT142001UK31_DispenseClaim, meta rx.Meta) (rx.DispenseClaim, error) {
	h := &c.PertinentInformation1.PertinentSupplyHeader
	ods := agent03(&h.LegalAuthenticator.AgentPerson).ods
	if meta.SenderODS == "" {
		meta.SenderODS = ods
	}
	out := rx.DispenseClaim{
		Meta:               meta,
		ClaimID:            strings.ToUpper(c.ID.Root),
		PrescriptionID:     idOf(h.PertinentInformation4.PertinentPrescriptionID.Value),
		PrescriptionUUID:   strings.ToUpper(h.InFulfillmentOf.PriorOriginalPrescriptionRef.ID.Root),
		DispenserODS:       ods,
		PrescriptionStatus: h.PertinentInformation3.PertinentPrescriptionStatus.Value.Code,
		ClaimTime:          c.EffectiveTime.Value,
	}
	if c.ReplacementOf != nil {
		out.ReplacementOf = strings.ToUpper(c.ReplacementOf.PriorMessageRef.ID.Root)
	}
	var err error
	if out.RepeatLow, out.RepeatHigh, err = repeatOf("prescription", h.RepeatNumber); err != nil {
		return out, err
	}
	for i := range h.PertinentInformation1 {
		sli := &h.PertinentInformation1[i].PertinentSuppliedLineItem
		item := rx.DispensedItem{
			ID:             strings.ToUpper(sli.InFulfillmentOf.PriorOriginalItemRef.ID.Root),
			SuppliedItemID: strings.ToUpper(sli.ID.Root),
			Status:         sli.PertinentInformation3.PertinentItemStatus.Value.Code,
		}
		if item.RepeatLow, item.RepeatHigh, err = repeatOf(fmt.Sprintf("dcLineItem%d", i+1), sli.RepeatNumber); err != nil {
			return out, err
		}
		defaultRepeats(&item, out.RepeatLow, out.RepeatHigh)
		var qs []quantity
		for _, comp := range sli.Component {
			qs = append(qs, quantityOf(comp.SuppliedLineItemQuantity.Quantity))
		}
		item.Quantity, item.UnitCode = sumQuantities(qs)
		if rt := sli.PertinentInformation1; rt != nil {
			item.RunningTotal = runningTotal(quantityOf(rt.PertinentRunningTotal.Value), item.UnitCode)
		}
		out.Items = append(out.Items, item)
	}
	return out, nil
}

// Withdraw maps an ETPWithdraw payload. Its author is an AgentPersonSDS with
// no organisation, so SenderODS stays empty unless the caller knows it.
func Withdraw(w *hl7v3.PORX_MT136001UK31_ETPWithdraw, meta rx.Meta) (rx.DispenserWithdraw, error) {
	out := rx.DispenserWithdraw{
		Meta:           meta,
		WithdrawID:     strings.ToUpper(w.ID.Root),
		PrescriptionID: idOf(w.PertinentInformation3.PertinentWithdrawID.Value),
		NHSNumber:      w.RecordTarget.Patient.ID.Extension,
		DispenserODS:   meta.SenderODS,
		WithdrawType:   w.PertinentInformation2.PertinentWithdrawType.Value.Code,
		Reason:         w.PertinentInformation5.PertinentWithdrawReason.Value.Code,
		EffectiveTime:  w.EffectiveTime.Value,
	}
	if len(w.PertinentInformation4) > 0 {
		out.NotificationRef = strings.ToUpper(w.PertinentInformation4[0].PertinentDispenseNotificationRef.ID.Root)
	}
	if w.PertinentInformation1 != nil {
		n, err := integer("targetInstance", w.PertinentInformation1.PertinentRepeatInstanceInfo.Value.Value)
		if err != nil {
			return out, err
		}
		out.Issue = n
	}
	return out, nil
}

// Rebuild maps a RebuildDispenseHistory payload: the dispense notifications
// it restates, in sequence-number order.
func Rebuild(r *hl7v3.PORX_MT136002UK31_RebuildDispenseHistory, meta rx.Meta) (rx.RebuildDispenseHistory, error) {
	out := rx.RebuildDispenseHistory{
		Meta:           meta,
		RebuildID:      strings.ToUpper(r.ID.Root),
		PrescriptionID: idOf(r.PertinentInformation1.PertinentPrescriptionID.Value),
		WithdrawReason: r.PertinentInformation3.PertinentWithdrawReason.Value.Code,
		EffectiveTime:  r.EffectiveTime.Value,
	}
	if r.PertinentInformation2 != nil {
		n, err := integer("targetInstance", r.PertinentInformation2.PertinentRepeatInstanceInfo.Value.Value)
		if err != nil {
			return out, err
		}
		out.Issue = n
	}
	type seqDN struct {
		seq int
		dn  rx.DispenseNotification
	}
	var dns []seqDN
	for i := range r.Component {
		c := &r.Component[i]
		seq, err := integer("sequenceNumber", c.SequenceNumber.Value)
		if err != nil {
			return out, err
		}
		dm := meta
		dm.MessageID = ""
		dn, err := Notification(&c.DispenseNotification, dm)
		if err != nil {
			return out, err
		}
		dns = append(dns, seqDN{seq, dn})
	}
	// Stable insertion sort by sequence number (at most a handful).
	for i := 1; i < len(dns); i++ {
		for j := i; j > 0 && dns[j].seq < dns[j-1].seq; j-- {
			dns[j], dns[j-1] = dns[j-1], dns[j]
		}
	}
	for _, d := range dns {
		out.Notifications = append(out.Notifications, d.dn)
	}
	if meta.SenderODS == "" && len(out.Notifications) > 0 {
		out.Meta.SenderODS = out.Notifications[0].DispenserODS
	}
	return out, nil
}
