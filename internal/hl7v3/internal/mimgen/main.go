// Command mimgen writes the Go types for every EPS interaction from the MIM
// 4.2.00 XML schemas, so that the typed values cover every element the
// schemas allow, in the schemas' order (which keeps encoded output valid).
//
//	go run ./internal/mimgen -mim ../../../shared/fixtures/hl7v3/mim -o mim_gen.go -codec codec_gen.go
//
// It writes two files: mim_gen.go, one Go type per MIM class, and
// codec_gen.go, the methods that read and write every type (those of
// mim_gen.go and the hand-written datatypes.go), generated from their hl7
// struct tags so that the codec needs no reflection.
//
// It understands the subset of XML Schema the MIM uses: named complex types
// with sequences, choices, group references, xs:any, anonymous complex types
// (which are always II-shaped identifiers), and attributes. HL7 datatypes
// (II, CD, TS, …) are hand-written in the hl7v3 package and only referenced.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/beevik/etree"
)

// datatypes maps schema datatype names to the hand-written Go types.
var datatypes = map[string]string{
	"II": "II", "CS": "CD", "CV": "CD", "CD": "CD", "CE": "CD", "BL": "BL", "TS": "TS",
	"SXCM_TS": "TS", "IVL_TS": "IVL_TS", "PQ": "PQ", "IVL_PQ": "IVL_PQ", "INT": "INT",
	"IVL_INT": "IVL_INT", "ST": "ST", "TEL": "TEL", "AD": "AD", "PN": "EN", "ON": "EN",
	"EN": "EN", "ED": "ED",
}

// interactions are the root elements generated, in the MIM's spelling.
var interactions = []string{
	"PORX_IN020101UK31", "PORX_IN020102UK31", "PORX_IN132004UK30", "PORX_IN070103UK31",
	"PORX_IN060102UK30", "PORX_IN070101UK31", "PORX_IN110101UK30", "PORX_IN100101UK31",
	"PORX_IN030101UK32", "PORX_IN050101UK31", "PORX_IN050102UK32", "PORX_IN080101UK31",
	"PORX_IN090101UK31", "PORX_IN370101UK31", "PORX_IN460101UK31", "PORX_IN510101UK31",
	"PORX_IN540101UK31", "MCCI_IN010000UK13",
}

// anyOverrides replaces an xs:any in a complex type with a typed element where
// the fixtures show what it carries: the release response carries
// ParentPrescription (as PORX_MT122003UK32, which the MIM does not publish)
// where its schema only says "any HL7 element".
var anyOverrides = map[string]field{
	"PORX_MT122002UK31.Component": {XMLName: "ParentPrescription", Type: "PORX_MT132004UK31.ParentPrescription", Min: 1, Max: 1},
	// A rebuild of the dispense history replays the dispense notifications.
	"PORX_MT136002UK31.Component": {XMLName: "DispenseNotification", Type: "PORX_MT024001UK31.DispenseNotification", Min: 1, Max: 1},
}

// insertions add the elements a released prescription (PORX_MT122003UK32)
// carries beyond the prescriber's PORX_MT132004UK31: the prescription status,
// the patient's age exemptions and each line item's status, at the positions
// the Spine writes them (see the release responses in the fixtures).
var insertions = map[string][]struct {
	after string
	f     field
}{
	"PORX_MT132004UK31.Prescription": {
		{"pertinentInformation6", field{XMLName: "pertinentInformation10", Type: "Released.PertinentInformation10", Min: 0, Max: 1}},
		{"pertinentInformation10", field{XMLName: "pertinentInformation9", Type: "Released.PertinentInformation9", Min: 0, Max: 1}},
		{"pertinentInformation2", field{XMLName: "pertinentInformation11", Type: "Released.PertinentInformation11", Min: 0, Max: 1}},
	},
	"PORX_MT132004UK31.LineItem": {
		{"component", field{XMLName: "pertinentInformation4", Type: "Released.PertinentInformation4", Min: 0, Max: 1}},
	},
}

// appendings add elements at the end of a type: the date of the previous
// issue of a repeat prescription, which the Spine's release stylesheet
// (parentPrescription2_Release.xsl) writes last in pertinentPrescription.
var appendings = map[string][]field{
	"PORX_MT132004UK31.Prescription": {
		{XMLName: "predecessor", Type: "Released.Predecessor", Min: 0, Max: 1},
	},
}

// synthetic holds the hand-described classes of PORX_MT122003UK32.
var synthetic = map[string]*ctype{
	"Released.PertinentInformation10": relationship("pertinentPrescriptionStatus", "Released.PrescriptionStatus"),
	"Released.PertinentInformation9":  relationship("pertinentLowPermanentExemptionInfo", "Released.ExemptionInfo"),
	"Released.PertinentInformation11": relationship("pertinentHighPermanentExemptionInfo", "Released.ExemptionInfo"),
	"Released.PertinentInformation4":  relationship("pertinentItemStatus", "Released.ItemStatus"),
	"Released.PrescriptionStatus":     observation("CD"),
	"Released.ItemStatus":             observation("CD"),
	"Released.ExemptionInfo":          observation("TS"),
	"Released.Predecessor":            relationship("priorPreviousIssueDate", "Released.PreviousIssueDate"),
	"Released.PreviousIssueDate":      observation("TS"),
}

func relationship(target, typ string) *ctype {
	return &ctype{
		Fields: []field{
			{XMLName: "seperatableInd", Type: "BL", Min: 1, Max: 1},
			{XMLName: target, Type: typ, Min: 1, Max: 1},
		},
		Attrs: []attr{{Name: "type"}, {Name: "typeCode"}, {Name: "contextConductionInd"}, {Name: "inversionInd"}, {Name: "negationInd"}, {Name: "nullFlavor"}},
		Doc:   "a PORX_MT122003UK32 relationship (released prescription)",
	}
}

func observation(valueType string) *ctype {
	return &ctype{
		Fields: []field{
			{XMLName: "code", Type: "CD", Min: 1, Max: 1},
			{XMLName: "value", Type: valueType, Min: 1, Max: 1},
		},
		Attrs: []attr{{Name: "type"}, {Name: "classCode"}, {Name: "moodCode"}, {Name: "nullFlavor"}},
		Doc:   "a PORX_MT122003UK32 observation (released prescription)",
	}
}

type field struct {
	XMLName string
	Type    string // schema type name, or "" for xs:any
	Min     int
	Max     int // -1: unbounded
	Any     bool
}

type attr struct {
	Name     string
	Required bool
}

type ctype struct {
	Name   string
	File   string
	Fields []field
	Attrs  []attr
	OneOf  [][]string // required choices: one of these elements must be present
	Doc    string
	sig    string
}

type gen struct {
	types  map[string]*ctype
	groups map[string]*etree.Element
	anon   int
}

func main() {
	mim := flag.String("mim", "", "the MIM folder (with Schemas/, dt/, voc/)")
	out := flag.String("o", "mim_gen.go", "output file for the types")
	codecOut := flag.String("codec", "codec_gen.go", "output file for the codec")
	dtFile := flag.String("datatypes", "datatypes.go", "the hand-written datatypes")
	flag.Parse()
	if *mim == "" {
		log.Fatal("mimgen: -mim is required")
	}
	dt, err := os.ReadFile(*dtFile)
	if err != nil {
		log.Fatalf("mimgen: %v", err)
	}
	types, codec, err := generate(*mim, dt)
	if err != nil {
		log.Fatalf("mimgen: %v", err)
	}
	if err := os.WriteFile(*out, types, 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*codecOut, codec, 0o644); err != nil {
		log.Fatal(err)
	}
}

// generate returns the two generated files from the MIM folder and the
// source of the hand-written datatypes.
func generate(mim string, datatypes []byte) (types, codec []byte, err error) {
	g := &gen{types: map[string]*ctype{}, groups: map[string]*etree.Element{}}
	files, err := filepath.Glob(filepath.Join(mim, "Schemas", "*.xsd"))
	if err != nil || len(files) == 0 {
		return nil, nil, fmt.Errorf("no schemas under %s", mim)
	}
	sort.Strings(files)
	docs := map[string]*etree.Element{}
	for _, f := range files {
		doc := etree.NewDocument()
		if err := doc.ReadFromFile(f); err != nil {
			return nil, nil, err
		}
		docs[f] = doc.Root()
		for _, grp := range doc.Root().SelectElements("group") {
			g.groups[grp.SelectAttrValue("name", "")] = grp
		}
	}
	for _, f := range files {
		if err := g.load(f, docs[f]); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	for n, t := range synthetic {
		t.Name = n
		t.File = "openeps (PORX_MT122003UK32, from the release responses in the fixtures)"
		g.types[n] = t
	}
	for tn, ins := range insertions {
		t := g.types[tn]
		if t == nil {
			return nil, nil, fmt.Errorf("insertion into unknown type %s", tn)
		}
		for _, in := range ins {
			i := indexOf(t.Fields, in.after)
			if i < 0 {
				return nil, nil, fmt.Errorf("%s has no element %s to insert after", tn, in.after)
			}
			t.Fields = append(t.Fields[:i+1], append([]field{in.f}, t.Fields[i+1:]...)...)
		}
	}
	for tn, fs := range appendings {
		t := g.types[tn]
		if t == nil {
			return nil, nil, fmt.Errorf("appending to unknown type %s", tn)
		}
		t.Fields = append(t.Fields, fs...)
	}
	types, err = g.emit()
	if err != nil {
		return nil, nil, err
	}
	structs, err := parseStructs(types, datatypes)
	if err != nil {
		return nil, nil, err
	}
	var messages []string
	for _, in := range interactions {
		messages = append(messages, goName(in+".Message"))
	}
	codec, err = emitCodec(structs, messages)
	if err != nil {
		return nil, nil, fmt.Errorf("codec: %w", err)
	}
	return types, codec, nil
}

func indexOf(fs []field, name string) int {
	for i, f := range fs {
		if f.XMLName == name {
			return i
		}
	}
	return -1
}

func (g *gen) load(path string, root *etree.Element) error {
	for _, ct := range root.SelectElements("complexType") {
		t, err := g.complexType(ct, ct.SelectAttrValue("name", ""))
		if err != nil {
			return err
		}
		t.File = strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".xsd"), "")
		if old, ok := g.types[t.Name]; ok {
			if old.sig != t.sig {
				return fmt.Errorf("complex type %s differs between %s and %s", t.Name, old.File, t.File)
			}
			continue
		}
		g.types[t.Name] = t
	}
	return nil
}

func occurs(e *etree.Element, name string) int {
	v := e.SelectAttrValue(name, "1")
	if v == "unbounded" {
		return -1
	}
	n := 0
	fmt.Sscanf(v, "%d", &n)
	return n
}

func (g *gen) complexType(ct *etree.Element, name string) (*ctype, error) {
	t := &ctype{Name: name}
	for _, c := range ct.ChildElements() {
		switch c.Tag {
		case "sequence", "choice":
			if err := g.particles(t, c, name, false, false); err != nil {
				return nil, err
			}
		case "attribute":
			t.Attrs = append(t.Attrs, attr{Name: c.SelectAttrValue("name", ""), Required: c.SelectAttrValue("use", "") == "required"})
		case "annotation":
		default:
			return nil, fmt.Errorf("%s: unsupported <%s>", name, c.Tag)
		}
	}
	var sig strings.Builder
	for _, f := range t.Fields {
		fmt.Fprintf(&sig, "%s:%s:%d:%d:%v;", f.XMLName, f.Type, f.Min, f.Max, f.Any)
	}
	for _, a := range t.Attrs {
		fmt.Fprintf(&sig, "@%s:%v;", a.Name, a.Required)
	}
	fmt.Fprintf(&sig, "%v", t.OneOf)
	t.sig = sig.String()
	return t, nil
}

// particles appends the elements of a sequence or choice to t. optional
// says the enclosing particle may be absent. Inside a choice every element
// is optional on its own, but a required choice (one not inside anything
// optional) of plain elements needs one of them: that is recorded as a
// one-of group the codec checks. Inside a repeated particle, elements repeat.
func (g *gen) particles(t *ctype, p *etree.Element, owner string, optional, repeated bool) error {
	if p.Tag == "choice" || p.Tag == "sequence" {
		if occurs(p, "minOccurs") == 0 {
			optional = true
		}
		if occurs(p, "maxOccurs") != 1 {
			repeated = true
		}
	}
	requiredChoice := p.Tag == "choice" && !optional
	var alternatives []string
	childOptional := optional || p.Tag == "choice"
	for _, c := range p.ChildElements() {
		if c.Tag != "element" && c.Tag != "annotation" {
			requiredChoice = false // only choices of plain elements are checked
		}
		if c.Tag == "element" {
			alternatives = append(alternatives, c.SelectAttrValue("name", ""))
			if occurs(c, "minOccurs") == 0 {
				requiredChoice = false // an alternative that may be absent satisfies it
			}
		}
	}
	if requiredChoice && len(alternatives) > 1 {
		t.OneOf = append(t.OneOf, alternatives)
	}
	for _, c := range p.ChildElements() {
		switch c.Tag {
		case "element":
			f := field{XMLName: c.SelectAttrValue("name", ""), Type: c.SelectAttrValue("type", ""), Min: occurs(c, "minOccurs"), Max: occurs(c, "maxOccurs")}
			if f.Type == "" {
				inner := c.SelectElement("complexType")
				if inner == nil {
					return fmt.Errorf("%s/%s: element without a type", owner, f.XMLName)
				}
				if isIdentifier(inner) {
					f.Type = "II"
				} else {
					g.anon++
					an := owner + "." + strings.ToUpper(f.XMLName[:1]) + f.XMLName[1:] + "Type"
					at, err := g.complexType(inner, an)
					if err != nil {
						return err
					}
					g.types[an] = at
					f.Type = an
				}
			}
			if childOptional {
				f.Min = 0
			}
			if repeated {
				f.Max = -1
			}
			if i := indexOf(t.Fields, f.XMLName); i >= 0 {
				old := &t.Fields[i]
				if old.Type != f.Type {
					return fmt.Errorf("%s: element %s appears with types %s and %s", owner, f.XMLName, old.Type, f.Type)
				}
				if f.Min < old.Min {
					old.Min = f.Min
				}
				if f.Max == -1 || (old.Max != -1 && f.Max > old.Max) {
					old.Max = f.Max
				}
				continue
			}
			t.Fields = append(t.Fields, f)
		case "group":
			ref := c.SelectAttrValue("ref", "")
			grp := g.groups[ref]
			if grp == nil {
				return fmt.Errorf("%s: unknown group %s", owner, ref)
			}
			for _, gc := range grp.ChildElements() {
				if gc.Tag == "sequence" || gc.Tag == "choice" {
					if err := g.particles(t, gc, owner, childOptional || occurs(c, "minOccurs") == 0, repeated || occurs(c, "maxOccurs") != 1); err != nil {
						return err
					}
				}
			}
		case "choice", "sequence":
			if err := g.particles(t, c, owner, childOptional, repeated); err != nil {
				return err
			}
		case "any":
			if ov, ok := anyOverrides[owner]; ok {
				t.Fields = append(t.Fields, ov)
				continue
			}
			t.Fields = append(t.Fields, field{Any: true, Min: occurs(c, "minOccurs"), Max: occurs(c, "maxOccurs")})
		case "annotation":
		default:
			return fmt.Errorf("%s: unsupported <%s> in a content model", owner, c.Tag)
		}
	}
	return nil
}

// isIdentifier reports whether an anonymous complex type is an II restricted
// to fixed values (templateId, typeId and the like): attributes only, all of
// them II attributes.
func isIdentifier(ct *etree.Element) bool {
	ok := map[string]bool{"root": true, "extension": true, "assigningAuthorityName": true, "displayable": true, "nullFlavor": true}
	n := 0
	for _, c := range ct.ChildElements() {
		switch c.Tag {
		case "attribute":
			if !ok[c.SelectAttrValue("name", "")] {
				return false
			}
			n++
		case "annotation":
		default:
			return false
		}
	}
	return n > 0
}

func goName(schemaName string) string {
	return strings.NewReplacer(".", "_", "-", "_").Replace(schemaName)
}

func exported(xmlName string) string {
	if xmlName == "" {
		return ""
	}
	n := strings.ToUpper(xmlName[:1]) + xmlName[1:]
	if strings.HasSuffix(n, "Id") {
		n = strings.TrimSuffix(n, "Id") + "ID"
	}
	return n
}

func (g *gen) emit() ([]byte, error) {
	// Reachable types from the interactions.
	want := map[string]bool{}
	var visit func(string) error
	visit = func(n string) error {
		if want[n] {
			return nil
		}
		if _, ok := datatypes[n]; ok {
			return nil
		}
		t := g.types[n]
		if t == nil {
			return fmt.Errorf("unknown type %s", n)
		}
		want[n] = true
		for _, f := range t.Fields {
			if !f.Any {
				if err := visit(f.Type); err != nil {
					return fmt.Errorf("%s.%s: %w", n, f.XMLName, err)
				}
			}
		}
		return nil
	}
	for _, in := range interactions {
		if err := visit(in + ".Message"); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)

	var b bytes.Buffer
	b.WriteString("// Code generated by mimgen from the MIM 4.2.00 schemas; DO NOT EDIT.\n\npackage hl7v3\n\n")
	for _, n := range names {
		t := g.types[n]
		doc := t.Doc
		if doc == "" {
			doc = "the HL7 V3 class " + n + " (MIM " + t.File + ")"
		}
		fmt.Fprintf(&b, "// %s is %s.\ntype %s struct {\n", goName(n), doc, goName(n))
		used := map[string]bool{}
		for _, a := range t.Attrs {
			fn := exported(a.Name)
			if a.Name == "typeID" {
				fn = "TypeIDList" // the attribute; TypeID is the typeId element
			}
			for used[fn] {
				fn += "Attr"
			}
			used[fn] = true
			tag := a.Name + ",attr"
			if a.Required {
				tag += ",req"
			}
			fmt.Fprintf(&b, "\t%s string `hl7:%q`\n", fn, tag)
		}
		for _, f := range t.Fields {
			if f.Any {
				fn := "Any"
				for used[fn] {
					fn += "X"
				}
				used[fn] = true
				fmt.Fprintf(&b, "\t%s []RawXML `hl7:\",any\"`\n", fn)
				continue
			}
			fn := exported(f.XMLName)
			for used[fn] {
				fn += "Elem"
			}
			used[fn] = true
			gt, ok := datatypes[f.Type]
			if !ok {
				gt = goName(f.Type)
			}
			tag := f.XMLName
			if f.Min > 0 {
				tag += ",req"
			}
			for gi, grp := range t.OneOf {
				for _, n := range grp {
					if n == f.XMLName {
						tag += fmt.Sprintf(",oneof%d", gi+1)
					}
				}
			}
			switch {
			case f.Max == -1 || f.Max > 1:
				fmt.Fprintf(&b, "\t%s []%s `hl7:%q`\n", fn, gt, tag)
			case f.Min == 0:
				fmt.Fprintf(&b, "\t%s *%s `hl7:%q`\n", fn, gt, tag)
			default:
				fmt.Fprintf(&b, "\t%s %s `hl7:%q`\n", fn, gt, tag)
			}
		}
		b.WriteString("\tExtra *Extra `hl7:\",extra\"`\n}\n\n")
	}
	// The table of root types.
	b.WriteString("// rootTypes maps each interaction (MIM spelling) to a constructor of its typed value.\nvar rootTypes = map[string]func() any{\n")
	for _, in := range interactions {
		fmt.Fprintf(&b, "\t%q: func() any { return new(%s) },\n", in, goName(in+".Message"))
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}
