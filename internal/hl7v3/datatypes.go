package hl7v3

// The HL7 V3 datatypes (MIM dt/datatypes_7202.xsd) that EPS messages use.
// Several schema types share one Go type where the schema only narrows them:
// CS, CV and CE are all CD; SXCM_TS and IVXB_TS are TS; PN and ON are EN;
// PQ_inc is PQ. Attributes are strings; an empty string means "absent".

// II is an instance identifier: a root OID or UUID and an optional extension.
type II struct {
	Root                   string `hl7:"root,attr"`
	Extension              string `hl7:"extension,attr"`
	AssigningAuthorityName string `hl7:"assigningAuthorityName,attr"`
	Displayable            string `hl7:"displayable,attr"`
	NullFlavor             string `hl7:"nullFlavor,attr"`
	UpdateMode             string `hl7:"updateMode,attr"`
	Extra                  *Extra `hl7:",extra"`
}

// CD is a concept descriptor (also used for CS, CV and CE).
type CD struct {
	Code              string `hl7:"code,attr"`
	CodeSystem        string `hl7:"codeSystem,attr"`
	CodeSystemName    string `hl7:"codeSystemName,attr"`
	CodeSystemVersion string `hl7:"codeSystemVersion,attr"`
	DisplayName       string `hl7:"displayName,attr"`
	NullFlavor        string `hl7:"nullFlavor,attr"`
	UpdateMode        string `hl7:"updateMode,attr"`
	OriginalText      *ED    `hl7:"originalText"`
	Qualifier         []CR   `hl7:"qualifier"`
	Translation       []CD   `hl7:"translation"`
	Extra             *Extra `hl7:",extra"`
}

// CR is a concept role: a qualifier of a CD (e.g. <qualifier code="ER"/> on
// an acknowledgement's error code).
type CR struct {
	Code              string `hl7:"code,attr"`
	CodeSystem        string `hl7:"codeSystem,attr"`
	CodeSystemName    string `hl7:"codeSystemName,attr"`
	CodeSystemVersion string `hl7:"codeSystemVersion,attr"`
	DisplayName       string `hl7:"displayName,attr"`
	Inverted          string `hl7:"inverted,attr"`
	NullFlavor        string `hl7:"nullFlavor,attr"`
	Name              *CD    `hl7:"name"`
	Value             *CD    `hl7:"value"`
	Extra             *Extra `hl7:",extra"`
}

// BL is a boolean ("true" / "false").
type BL struct {
	Value      string `hl7:"value,attr"`
	NullFlavor string `hl7:"nullFlavor,attr"`
	UpdateMode string `hl7:"updateMode,attr"`
	Extra      *Extra `hl7:",extra"`
}

// TS is a point in time, YYYYMMDD[HHMMSS] (also SXCM_TS and IVXB_TS).
type TS struct {
	Value      string `hl7:"value,attr"`
	Operator   string `hl7:"operator,attr"`
	Inclusive  string `hl7:"inclusive,attr"`
	NullFlavor string `hl7:"nullFlavor,attr"`
	UpdateMode string `hl7:"updateMode,attr"`
	Extra      *Extra `hl7:",extra"`
}

// IVL_TS is an interval of time.
type IVL_TS struct {
	Value      string `hl7:"value,attr"`
	Operator   string `hl7:"operator,attr"`
	NullFlavor string `hl7:"nullFlavor,attr"`
	UpdateMode string `hl7:"updateMode,attr"`
	Low        *TS    `hl7:"low"`
	Center     *TS    `hl7:"center"`
	Width      *PQ    `hl7:"width"`
	High       *TS    `hl7:"high"`
	Extra      *Extra `hl7:",extra"`
}

// PQ is a physical quantity (also PQ_inc, the bound of an IVL_PQ).
type PQ struct {
	Value         string `hl7:"value,attr"`
	Unit          string `hl7:"unit,attr"`
	OriginalValue string `hl7:"originalValue,attr"`
	OriginalUnit  string `hl7:"originalUnit,attr"`
	Inclusive     string `hl7:"inclusive,attr"`
	NullFlavor    string `hl7:"nullFlavor,attr"`
	UpdateMode    string `hl7:"updateMode,attr"`
	Translation   []PQR  `hl7:"translation"`
	Extra         *Extra `hl7:",extra"`
}

// PQR is a quantity in another unit system: in EPS the dm+d unit of measure
// (code, display name) with the same value.
type PQR struct {
	Code              string `hl7:"code,attr"`
	CodeSystem        string `hl7:"codeSystem,attr"`
	CodeSystemName    string `hl7:"codeSystemName,attr"`
	CodeSystemVersion string `hl7:"codeSystemVersion,attr"`
	DisplayName       string `hl7:"displayName,attr"`
	Value             string `hl7:"value,attr"`
	NullFlavor        string `hl7:"nullFlavor,attr"`
	OriginalText      *ED    `hl7:"originalText"`
	Extra             *Extra `hl7:",extra"`
}

// IVL_PQ is an interval of physical quantities.
type IVL_PQ struct {
	Operator   string `hl7:"operator,attr"`
	NullFlavor string `hl7:"nullFlavor,attr"`
	UpdateMode string `hl7:"updateMode,attr"`
	Low        *PQ    `hl7:"low"`
	Center     *PQ    `hl7:"center"`
	Width      *PQ    `hl7:"width"`
	High       *PQ    `hl7:"high"`
	Extra      *Extra `hl7:",extra"`
}

// INT is an integer (also the bounds of an IVL_INT, with inclusive).
type INT struct {
	Value      string `hl7:"value,attr"`
	Inclusive  string `hl7:"inclusive,attr"`
	NullFlavor string `hl7:"nullFlavor,attr"`
	UpdateMode string `hl7:"updateMode,attr"`
	Extra      *Extra `hl7:",extra"`
}

// IVL_INT is an interval of integers: in EPS the repeat number low/high.
type IVL_INT struct {
	Value      string `hl7:"value,attr"`
	NullFlavor string `hl7:"nullFlavor,attr"`
	UpdateMode string `hl7:"updateMode,attr"`
	Low        *INT   `hl7:"low"`
	High       *INT   `hl7:"high"`
	Extra      *Extra `hl7:",extra"`
}

// ST is a character string.
type ST struct {
	MediaType  string `hl7:"mediaType,attr"`
	Language   string `hl7:"language,attr"`
	NullFlavor string `hl7:"nullFlavor,attr"`
	UpdateMode string `hl7:"updateMode,attr"`
	Text       string `hl7:",text"`
	Extra      *Extra `hl7:",extra"`
}

// ED is encapsulated data: text, or foreign XML such as the XML-DSig
// Signature a prescription's signatureText carries (kept byte for byte).
type ED struct {
	MediaType               string   `hl7:"mediaType,attr"`
	Language                string   `hl7:"language,attr"`
	Compression             string   `hl7:"compression,attr"`
	IntegrityCheck          string   `hl7:"integrityCheck,attr"`
	IntegrityCheckAlgorithm string   `hl7:"integrityCheckAlgorithm,attr"`
	Representation          string   `hl7:"representation,attr"`
	NullFlavor              string   `hl7:"nullFlavor,attr"`
	UpdateMode              string   `hl7:"updateMode,attr"`
	Reference               *TEL     `hl7:"reference"`
	Text                    string   `hl7:",text"`
	XML                     []RawXML `hl7:",any"`
	Extra                   *Extra   `hl7:",extra"`
}

// TEL is a telecommunication address ("tel:…", "mailto:…").
type TEL struct {
	Value         string   `hl7:"value,attr"`
	Use           string   `hl7:"use,attr"`
	NullFlavor    string   `hl7:"nullFlavor,attr"`
	UpdateMode    string   `hl7:"updateMode,attr"`
	UseablePeriod []IVL_TS `hl7:"useablePeriod"`
	ID            *II      `hl7:"id"`
	Extra         *Extra   `hl7:",extra"`
}

// Part is one part of an address or a name, in document order: Name is the
// element (streetAddressLine, postalCode, given, family, prefix…), or "" for
// text written directly inside the address or name.
type Part struct {
	Name      string
	Text      string
	Qualifier string // ENXP qualifier, e.g. "CL" for a call-me name
	PartType  string
}

// AD is a postal address.
type AD struct {
	Use           string   `hl7:"use,attr"`
	IsNotOrdered  string   `hl7:"isNotOrdered,attr"`
	NullFlavor    string   `hl7:"nullFlavor,attr"`
	UpdateMode    string   `hl7:"updateMode,attr"`
	Parts         []Part   `hl7:",parts"`
	UseablePeriod []IVL_TS `hl7:"useablePeriod"`
	ID            *II      `hl7:"id"`
	Extra         *Extra   `hl7:",extra"`
}

// EN is an entity name (also PN, a person's name, and ON, an organisation's).
type EN struct {
	Use        string  `hl7:"use,attr"`
	NullFlavor string  `hl7:"nullFlavor,attr"`
	UpdateMode string  `hl7:"updateMode,attr"`
	Parts      []Part  `hl7:",parts"`
	ValidTime  *IVL_TS `hl7:"validTime"`
	ID         *II     `hl7:"id"`
	Extra      *Extra  `hl7:",extra"`
}

// RawXML is an element from outside the HL7 schema (an XML-DSig Signature,
// or content the schema leaves open), kept as the exact bytes received. Any
// namespace it relied on from its surroundings is declared on its root, so it
// stands on its own wherever it is written.
type RawXML string

// Extra holds what a message carried that its schema does not allow, so that
// decoding never silently drops data and encoding gives it back. Elems are
// re-emitted after the element named in After ("" = first).
type Extra struct {
	Attrs []ExtraAttr
	Elems []ExtraElem
	Text  string // text found where the schema allows none
}

// ExtraAttr is an attribute the schema does not define.
type ExtraAttr struct {
	Space string // namespace URI, "" for none
	Name  string
	Value string
}

// ExtraElem is an element the schema does not allow where it was found.
type ExtraElem struct {
	After string
	XML   RawXML
}

// Text returns the parts of a name or address joined by spaces, in order.
func joinParts(ps []Part, names ...string) string {
	var out []byte
	for _, p := range ps {
		if len(names) > 0 {
			ok := false
			for _, n := range names {
				if p.Name == n {
					ok = true
				}
			}
			if !ok {
				continue
			}
		}
		if p.Text == "" {
			continue
		}
		if len(out) > 0 {
			out = append(out, ' ')
		}
		out = append(out, p.Text...)
	}
	return string(out)
}

// String returns the whole name in document order ("DR C BOIN").
func (n EN) String() string { return joinParts(n.Parts) }

// Given returns the given names, space-separated.
func (n EN) Given() string { return joinParts(n.Parts, "given") }

// Family returns the family name.
func (n EN) Family() string { return joinParts(n.Parts, "family") }

// Prefix returns the name prefix (title).
func (n EN) Prefix() string { return joinParts(n.Parts, "prefix") }

// Lines returns the address lines (streetAddressLine parts) in order.
func (a AD) Lines() []string {
	var out []string
	for _, p := range a.Parts {
		if p.Name == "streetAddressLine" && p.Text != "" {
			out = append(out, p.Text)
		}
	}
	return out
}

// PostalCode returns the postcode.
func (a AD) PostalCode() string { return joinParts(a.Parts, "postalCode") }
