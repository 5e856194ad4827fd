package hl7v3

import "strings"

// Identifier roots and code systems (../shared/spec/hl7v3.md §3).
const (
	RootShortID          = "2.16.840.1.113883.2.1.3.2.4.18.8"
	RootNHSNumber        = "2.16.840.1.113883.2.1.4.1"
	RootODS              = "1.2.826.0.1285.0.1.10"
	RootASID             = "1.2.826.0.1285.0.2.0.107"
	RootSDSUser          = "1.2.826.0.1285.0.2.0.65"
	RootSDSRoleProfile   = "1.2.826.0.1285.0.2.0.67"
	RootSDSJobRole       = "1.2.826.0.1285.0.2.1.104"
	RootProfessionalCode = "1.2.826.0.1285.0.2.1.54"
	RootInteraction      = "2.16.840.1.113883.2.1.3.2.4.12"
	RootTypeID           = "2.16.840.1.113883.2.1.3.2.4.18.7"
	RootTemplateID       = "2.16.840.1.113883.2.1.3.2.4.18.2"
	SystemSNOMED         = "2.16.840.1.113883.2.1.3.2.4.15"
	SystemAnnotation     = "2.16.840.1.113883.2.1.3.2.4.17.30"
	SystemItemStatus     = "2.16.840.1.113883.2.1.3.2.4.17.23"
	SystemPrescStatus    = "2.16.840.1.113883.2.1.3.2.4.16.35"
	SystemTreatmentType  = "2.16.840.1.113883.2.1.3.2.4.16.36"
	SystemPrescType      = "2.16.840.1.113883.2.1.3.2.4.17.25"
	SystemSitePreference = "2.16.840.1.113883.2.1.3.2.4.17.21"
	SystemGender         = "2.16.840.1.113883.2.1.3.2.4.16.25"
	SystemExemption      = "2.16.840.1.113883.2.1.3.2.4.16.33"
	SystemReturnReason   = "2.16.840.1.113883.2.1.3.2.4.16.28"
	SystemCancelReason   = "2.16.840.1.113883.2.1.3.2.4.16.27"
	SystemNotDispensed   = "2.16.840.1.113883.2.1.3.2.4.16.31"
	SystemWithdrawType   = "2.16.840.1.113883.2.1.3.2.4.17.109"
	SystemWithdrawReason = "2.16.840.1.113883.2.1.3.2.4.17.110"
	SystemBatchInfo      = "2.16.840.1.113883.2.1.3.2.4.17.14"
	XMLDSigNS            = "http://www.w3.org/2000/09/xmldsig#"
)

// Prescription is the flat view of a parent prescription that the lifecycle
// and the API need. Times are as written (YYYYMMDD[HHMMSS]).
type Prescription struct {
	UUID             string // pertinentPrescription/id[1]
	ShortID          string // pertinentPrescription/id with root …18.8
	EffectiveTime    string // ParentPrescription/effectiveTime
	NHSNumber        string
	Patient          Patient
	Author           Person // the prescriber who signed
	AuthorTime       string // signing time
	Responsible      Person
	Signed           bool // a ds:Signature with a SignatureValue is present
	TreatmentType    string
	PrescriptionType string
	SitePreference   string // dispensing site preference (P1…)
	NominatedODS     string // performer: the nominated dispenser, "" if none
	RepeatLow        string
	RepeatHigh       string
	DispenseLow      string // daysSupply/effectiveTime/low
	DispenseHigh     string
	ExpectedUseDays  string // daysSupply/expectedUseTime/width
	ReviewDate       string
	TokenIssued      string
	LineItems        []LineItem
	// What a released copy (PORX_MT122003UK32, in a release response) adds.
	Status            string // prescription status shown (16.35)
	StatusDisplay     string
	LowerAgeLimit     string // the date the patient turns 16 (low age exemption)
	HigherAgeLimit    string // the date the patient turns 60 (high age exemption)
	PreviousIssueDate string // repeat dispensing: the previous issue's date
}

// Patient is the patient a prescription is for.
type Patient struct {
	Prefix       string
	Given        string
	Family       string
	Gender       string // 0 unknown, 1 male, 2 female, 9 indeterminate
	BirthDate    string
	AddressLines []string
	Postcode     string
	GPODS        string // registered GP practice
}

// Person is a prescriber, dispenser or other actor in a message.
type Person struct {
	RoleProfileID    string // SDS role profile
	JobRole          string
	SDSUserID        string
	ProfessionalCode string // GMC / NMC / prescribing code
	Name             string
	OrgODS           string
	OrgName          string
	CommissionerODS  string // healthCareProviderLicense organisation
}

// LineItem is one medication on a prescription.
type LineItem struct {
	ID                     string
	DMDCode                string
	Description            string
	Quantity               string
	UnitCode               string
	UnitDisplay            string
	Dosage                 string
	AdditionalInstructions string
	RepeatLow              string
	RepeatHigh             string
	Status                 string // item status, on released copies only
	StatusDisplay          string
}

// View returns the flat view of a parent prescription.
func (pp *PORX_MT132004UK31_ParentPrescription) View() Prescription {
	p := &pp.PertinentInformation1.PertinentPrescription
	v := Prescription{EffectiveTime: pp.EffectiveTime.Value}
	for i, id := range p.ID {
		switch {
		case i == 0 && id.Extension == "":
			v.UUID = id.Root
		case id.Root == RootShortID:
			v.ShortID = id.Extension
		}
	}
	pt := &pp.RecordTarget.Patient
	v.NHSNumber = pt.ID.Extension
	v.Patient = patientView(pt)
	v.AuthorTime = p.Author.Time.Value
	v.Author = agentPersonView(&p.Author.AgentPerson)
	v.Responsible = agentPersonView(&p.ResponsibleParty.AgentPerson)
	v.Signed = HasSignature(&p.Author.SignatureText)
	v.TreatmentType = p.PertinentInformation5.PertinentPrescriptionTreatmentType.Value.Code
	v.PrescriptionType = p.PertinentInformation4.PertinentPrescriptionType.Value.Code
	v.SitePreference = p.PertinentInformation1.PertinentDispensingSitePreference.Value.Code
	if p.Performer != nil {
		v.NominatedODS = p.Performer.AgentOrgSDS.AgentOrganizationSDS.ID.Extension
	}
	v.RepeatLow, v.RepeatHigh = repeat(p.RepeatNumber)
	if c := p.Component1; c != nil {
		if et := c.DaysSupply.EffectiveTime; et != nil {
			if et.Low != nil {
				v.DispenseLow = et.Low.Value
			}
			if et.High != nil {
				v.DispenseHigh = et.High.Value
			}
		}
		if eu := c.DaysSupply.ExpectedUseTime; eu != nil && eu.Width != nil {
			v.ExpectedUseDays = eu.Width.Value
		}
	}
	if p.PertinentInformation7 != nil {
		v.ReviewDate = p.PertinentInformation7.PertinentReviewDate.Value.Value
	}
	v.TokenIssued = p.PertinentInformation8.PertinentTokenIssued.Value.Value
	if s := p.PertinentInformation10; s != nil {
		v.Status = s.PertinentPrescriptionStatus.Value.Code
		v.StatusDisplay = s.PertinentPrescriptionStatus.Value.DisplayName
	}
	if e := p.PertinentInformation9; e != nil {
		v.LowerAgeLimit = e.PertinentLowPermanentExemptionInfo.Value.Value
	}
	if e := p.PertinentInformation11; e != nil {
		v.HigherAgeLimit = e.PertinentHighPermanentExemptionInfo.Value.Value
	}
	if pr := p.Predecessor; pr != nil {
		v.PreviousIssueDate = pr.PriorPreviousIssueDate.Value.Value
	}
	for i := range p.PertinentInformation2 {
		li := &p.PertinentInformation2[i].PertinentLineItem
		item := LineItem{
			ID:          li.ID.Root,
			DMDCode:     li.Product.ManufacturedProduct.ManufacturedRequestedMaterial.Code.Code,
			Description: li.Product.ManufacturedProduct.ManufacturedRequestedMaterial.Code.DisplayName,
			Quantity:    li.Component.LineItemQuantity.Quantity.Value,
			Dosage:      li.PertinentInformation2.PertinentDosageInstructions.Value.Text,
		}
		if tr := li.Component.LineItemQuantity.Quantity.Translation; len(tr) > 0 {
			item.UnitCode, item.UnitDisplay = tr[0].Code, tr[0].DisplayName
			if item.Quantity == "" {
				item.Quantity = tr[0].Value
			}
		}
		if li.PertinentInformation1 != nil {
			item.AdditionalInstructions = li.PertinentInformation1.PertinentAdditionalInstructions.Value.Text
		}
		item.RepeatLow, item.RepeatHigh = repeat(li.RepeatNumber)
		if li.PertinentInformation4 != nil {
			item.Status = li.PertinentInformation4.PertinentItemStatus.Value.Code
			item.StatusDisplay = li.PertinentInformation4.PertinentItemStatus.Value.DisplayName
		}
		v.LineItems = append(v.LineItems, item)
	}
	return v
}

func repeat(r *IVL_INT) (low, high string) {
	if r == nil {
		return "", ""
	}
	if r.Low != nil {
		low = r.Low.Value
	}
	if r.High != nil {
		high = r.High.Value
	}
	return low, high
}

func patientView(pt *COCT_MT050012UK05_Patient) Patient {
	var v Patient
	person := &pt.PatientPerson
	if len(person.Name) > 0 {
		n := person.Name[0]
		v.Prefix, v.Given, v.Family = n.Prefix(), n.Given(), n.Family()
	}
	if person.AdministrativeGenderCode != nil {
		v.Gender = person.AdministrativeGenderCode.Code
	}
	if person.BirthTime != nil {
		v.BirthDate = person.BirthTime.Value
	}
	if len(pt.Addr) > 0 {
		v.AddressLines = pt.Addr[0].Lines()
		v.Postcode = pt.Addr[0].PostalCode()
	}
	v.GPODS = person.PlayedProviderPatient.SubjectOf.PatientCareProvision.ResponsibleParty.HealthCareProvider.ID.Extension
	return v
}

// PersonID reads AgentPerson/agentPerson/id: an SDS user ID under root
// 1.2.826.0.1285.0.2.0.65 (dispensing systems put it there), a professional
// code (GMC, NMC, GPhC, prescribing code) under any other.
func PersonID(id *II) (sdsUser, code string) {
	switch {
	case id == nil:
		return "", ""
	case id.Root == RootSDSUser:
		return id.Extension, ""
	}
	return "", id.Extension
}

func agentPersonView(ap *UKCT_MT120201UK04_AgentPerson) Person {
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
		for _, l := range o.HealthCareProviderLicense {
			if l.Organization != nil && l.Organization.ID != nil {
				v.CommissionerODS = l.Organization.ID.Extension
			}
		}
	}
	return v
}

// HasSignature reports whether a signatureText holds an XML-DSig Signature
// with a SignatureValue (an unsigned message keeps the skeleton with an empty
// SignatureValue, and dispensers' messages say nullFlavor="NA").
func HasSignature(st *ED) bool {
	for _, raw := range st.XML {
		s := string(raw)
		if !strings.Contains(s, XMLDSigNS) {
			continue
		}
		i := strings.Index(s, "SignatureValue")
		if i < 0 {
			continue
		}
		// <SignatureValue/> or <SignatureValue></SignatureValue> is empty.
		rest := s[i+len("SignatureValue"):]
		j := strings.IndexByte(rest, '>')
		if j < 0 || (j > 0 && rest[j-1] == '/') {
			continue
		}
		end := strings.Index(rest[j+1:], "<")
		if end < 0 {
			continue
		}
		if strings.TrimSpace(rest[j+1:j+1+end]) != "" {
			return true
		}
	}
	return false
}
