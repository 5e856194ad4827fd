package hl7v3

import (
	"fmt"
	"sort"
	"strings"

	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/xmlt"
)

// NS is the HL7 V3 namespace.
const NS = "urn:hl7-org:v3"

// The codec binds XML to the generated structs with the `hl7` struct tag:
//
//	hl7:"name"          a child element (struct, *struct or []struct)
//	hl7:"name,req"      a required child element (at least one for a slice)
//	hl7:"name,attr"     an attribute; hl7:"name,attr,req" a required one
//	hl7:",text"         the character data of a mixed-content element
//	hl7:",parts"        name/address parts, in document order
//	hl7:",any"          elements from other namespaces, kept as raw XML
//	hl7:",extra"        anything the schema does not allow, kept (see Extra)
//
// mimgen turns the tags into the methods of codec_gen.go (one set per type,
// the node interface below), so reading and writing a message is a tree of
// direct calls: no reflection and no lookups by name beyond one switch per
// element. Children are matched by name in any order (real messages are not
// always in schema order) and written back in the struct's order, which is
// the schema's.
//
//go:generate go run ./internal/mimgen -mim ../../../shared/fixtures/hl7v3/mim -o mim_gen.go -codec codec_gen.go -datatypes datatypes.go

// node is what every generated type and datatype implements (codec_gen.go).
type node interface {
	// decodeAttr sets the attribute name (no namespace), reporting whether
	// the type has it.
	decodeAttr(name, value string) bool
	// decodeChild reads the child element whose start tag was just read. It
	// returns the element's bit (its field position) in the mask of elements
	// seen, or 0 if the type has no element of that name. seen is the mask
	// so far (an element that may appear once and is seen again is kept in
	// Extra and reported).
	decodeChild(c *decoder, name string, seen uint64) (uint64, error)
	// check records a problem for each required attribute or element missing.
	check(c *decoder, seen uint64)
	// content returns the text, name/address parts and foreign XML the type
	// can hold (nil where it has none).
	content() (text *string, parts *[]Part, raw *[]RawXML)
	extra() **Extra
	encodeAttrs(e *encoder)
	hasChildren() bool
	encodeChildren(e *encoder, depth int, indent bool)
}

// DecodeError says which element broke which rule.
type DecodeError struct {
	Path string // e.g. /PORX_IN020101SM31/ControlActEvent/subject
	Msg  string
}

func (e *DecodeError) Error() string { return e.Path + ": " + e.Msg }

// Problem is a departure from the schema found while decoding: a required
// element missing, text where none may be, an element repeated that may
// appear once. Warnings (elements the schema does not allow, kept in Extra)
// do not make a message invalid.
type Problem struct {
	Path    string
	Msg     string
	Warning bool
	// Code is the code the Spine answers this problem with, when the rule
	// has its own (zero: the interaction's "unable to process").
	Code epserr.Code
}

func (p Problem) String() string { return p.Path + ": " + p.Msg }

type decoder struct {
	d        *xmlt.Decoder
	ns       string // the namespace read as HL7: NS, or "" for bare payload documents
	path     []string
	problems []Problem
	spent    uintptr // bytes of values allocated so far (see MaxDecodedBytes)
}

// MaxDecodedBytes bounds the memory the values of one document may take.
// Small elements can stand for large values (an empty <pertinentInformation2/>
// is a 2.4 KB line item), so the document size alone does not bound it; a
// release response of 25 prescriptions takes about 1 MB.
const MaxDecodedBytes = 32 << 20

// spend accounts for a value about to be allocated, refusing a document
// whose values would pass MaxDecodedBytes.
func (c *decoder) spend(n uintptr) error {
	c.spent += n
	if c.spent > MaxDecodedBytes {
		return c.errf("the message's values would take more than %d bytes", MaxDecodedBytes)
	}
	return nil
}

func (c *decoder) pathString() string { return "/" + strings.Join(c.path, "/") }

func (c *decoder) errf(format string, args ...any) error {
	return &DecodeError{Path: c.pathString(), Msg: fmt.Sprintf(format, args...)}
}

func (c *decoder) problem(warning bool, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: c.pathString(), Msg: fmt.Sprintf(format, args...), Warning: warning})
}

// missing records a required attribute or element that is not there; what
// is "attribute x" or "element x".
func (c *decoder) missing(what string) { c.problem(false, "%s is required", what) }

// missingChoice records a required choice none of whose elements is there,
// as a warning: NHS's own translator sends a cancellation's responsible
// party as an organisation with no person (the fixtures'
// responsible-party-org example), and the Spine takes it.
func (c *decoder) missingChoice(alternatives string) {
	c.problem(true, "one of element %s is required by the schema", alternatives)
}

// child reads the element whose start tag was just read into v.
func (c *decoder) child(v node) error {
	c.path = append(c.path, c.d.Name.Local)
	err := c.element(v)
	c.path = c.path[:len(c.path)-1]
	return err
}

// repeated keeps a second occurrence of an element that may appear once, in
// Extra, and records that the message is not valid.
func (c *decoder) repeated(x **Extra) error {
	name := c.d.Name.Local
	c.problem(false, "element %s appears more than once", name)
	raw, err := c.captureRaw()
	if err != nil {
		return err
	}
	ensureExtra(x).Elems = append((*x).Elems, ExtraElem{After: name, XML: raw})
	return nil
}

// appendPart adds a name or address part, making room for the usual
// handful at once.
func appendPart(parts *[]Part, p Part) {
	if *parts == nil {
		*parts = make([]Part, 0, 4)
	}
	*parts = append(*parts, p)
}

func ensureExtra(x **Extra) *Extra {
	if *x == nil {
		*x = &Extra{}
	}
	return *x
}

// element fills v from the element whose start tag was just read.
func (c *decoder) element(v node) error {
	d := c.d
	for i := range d.Attrs {
		a := &d.Attrs[i]
		if a.Name.Space == xmlt.XMLNS {
			continue
		}
		if a.Name.Space == "" && v.decodeAttr(a.Name.Local, a.Value) {
			continue
		}
		x := ensureExtra(v.extra())
		x.Attrs = append(x.Attrs, ExtraAttr{Space: a.Name.Space, Name: a.Name.Local, Value: a.Value})
		c.problem(true, "attribute %s is not in the schema", a.Name.Local)
	}
	text, parts, raw := v.content()
	// Layout white space matters only where the type keeps text.
	skip := text == nil
	var seen uint64
	var txt string
	ntext := 0
	children := false
	last := ""
	for {
		d.SkipSpace = skip
		k, err := d.Next()
		if err != nil {
			return c.errf("%v", err)
		}
		switch k {
		case xmlt.EndElement:
			// White space between child elements is layout, not text.
			if text != nil && ntext > 0 && !(children && xmlt.IsSpace(txt)) {
				*text = txt
			}
			v.check(c, seen)
			return nil
		case xmlt.Text:
			switch {
			case text != nil:
				if ntext == 0 {
					txt = d.Text
				} else {
					txt += d.Text
				}
				ntext++
			case parts != nil:
				if !xmlt.IsSpace(d.Text) {
					appendPart(parts, Part{Text: d.Text})
				}
			case !xmlt.IsSpace(d.Text):
				x := ensureExtra(v.extra())
				x.Text += d.Text
				c.problem(false, "unexpected text %.40q", d.Text)
			}
		case xmlt.StartElement:
			children = true
			local := d.Name.Local
			if d.Name.Space == c.ns {
				bit, err := v.decodeChild(c, local, seen)
				if err != nil {
					return err
				}
				if bit != 0 {
					seen |= bit
					last = local
					continue
				}
				if parts != nil {
					part, err := c.decodePart()
					if err != nil {
						return err
					}
					appendPart(parts, part)
					continue
				}
			}
			if raw != nil {
				x, err := c.captureRaw()
				if err != nil {
					return err
				}
				*raw = append(*raw, x)
				continue
			}
			c.path = append(c.path, local)
			c.problem(true, "element is not in the schema here")
			c.path = c.path[:len(c.path)-1]
			x, err := c.captureRaw()
			if err != nil {
				return err
			}
			xe := ensureExtra(v.extra())
			xe.Elems = append(xe.Elems, ExtraElem{After: last, XML: x})
		}
	}
}

// decodePart reads a name or address part: an element holding only text.
func (c *decoder) decodePart() (Part, error) {
	d := c.d
	part := Part{Name: d.Name.Local}
	for _, a := range d.Attrs {
		switch {
		case a.Name.Space == xmlt.XMLNS:
		case a.Name.Local == "qualifier":
			part.Qualifier = a.Value
		case a.Name.Local == "partType":
			part.PartType = a.Value
		default:
			return part, c.errf("unexpected attribute %s on <%s>", a.Name.Local, part.Name)
		}
	}
	n := 0
	d.SkipSpace = false
	for {
		k, err := d.Next()
		if err != nil {
			return part, c.errf("%v", err)
		}
		switch k {
		case xmlt.Text:
			if n == 0 {
				part.Text = d.Text
			} else {
				part.Text += d.Text
			}
			n++
		case xmlt.EndElement:
			return part, nil
		case xmlt.StartElement:
			return part, c.errf("unexpected element %s inside <%s>", d.Name.Local, part.Name)
		}
	}
}

// captureRaw takes the element just started, whole, as raw XML, declaring on
// its root any namespace prefix it uses but inherits from outside.
func (c *decoder) captureRaw() (RawXML, error) {
	d := c.d
	start := d.TokenStart
	base := d.Depth()
	// Prefixes used inside the subtree, and the depth at which the subtree
	// itself declares each.
	var declared map[string]int
	needed := map[string]bool{}
	note := func(prefix string, depth int) {
		if dd, ok := declared[prefix]; ok && dd <= depth {
			return
		}
		needed[prefix] = true
	}
	scope := d.InScope()
	visit := func() {
		depth := d.Depth()
		for _, a := range d.Attrs {
			if a.Name.Space == xmlt.XMLNS {
				pfx := a.Name.Local
				if a.Name.Prefix == "" {
					pfx = ""
				}
				if declared == nil {
					declared = map[string]int{}
				}
				if _, ok := declared[pfx]; !ok {
					declared[pfx] = depth
				}
			}
		}
		note(d.Name.Prefix, depth)
		for _, a := range d.Attrs {
			if a.Name.Space != xmlt.XMLNS && a.Name.Prefix != "" {
				note(a.Name.Prefix, depth)
			}
		}
	}
	visit()
	// What the root element inherits is what is in scope minus its own
	// declarations.
	for pfx := range declared {
		delete(scope, pfx)
	}
	end := 0
	for {
		k, err := d.Next()
		if err != nil {
			return "", c.errf("%v", err)
		}
		if k == xmlt.StartElement {
			visit()
		}
		if k == xmlt.EndElement && d.Depth() == base-1 {
			end = d.Offset()
			break
		}
	}
	raw := d.Source()[start:end]
	var decls []string
	for pfx := range needed {
		if pfx == "xml" {
			continue
		}
		uri, ok := scope[pfx]
		if !ok {
			continue // declared inside the subtree
		}
		if pfx == "" {
			if uri == "" {
				continue
			}
			decls = append(decls, ` xmlns="`+string(xmlt.AppendEscapedAttr(nil, uri))+`"`)
			continue
		}
		decls = append(decls, ` xmlns:`+pfx+`="`+string(xmlt.AppendEscapedAttr(nil, uri))+`"`)
	}
	if len(decls) == 0 {
		return RawXML(raw), nil
	}
	sort.Strings(decls)
	// Insert after the root element's name.
	i := 1
	for i < len(raw) && !strings.ContainsRune(" \t\r\n/>", rune(raw[i])) {
		i++
	}
	return RawXML(raw[:i] + strings.Join(decls, "") + raw[i:]), nil
}

// encoder writes values as XML, indented by two spaces per level except
// inside mixed content.
type encoder struct {
	b []byte
}

func (e *encoder) indent(depth int) {
	e.b = append(e.b, '\n')
	for i := 0; i < depth; i++ {
		e.b = append(e.b, ' ', ' ')
	}
}

// attr writes an attribute unless its value is empty (absent).
func (e *encoder) attr(name, value string) {
	if value == "" {
		return
	}
	e.b = append(e.b, ' ')
	e.b = append(e.b, name...)
	e.b = append(e.b, '=', '"')
	e.b = xmlt.AppendEscapedAttr(e.b, value)
	e.b = append(e.b, '"')
}

// child writes a child element of the element at depth.
func (e *encoder) child(name string, v node, depth int, indent bool) {
	if indent {
		e.indent(depth + 1)
	}
	e.element(name, v, depth+1, false)
}

func (e *encoder) raw(x RawXML, depth int, indent bool) {
	if indent {
		e.indent(depth + 1)
	}
	e.b = append(e.b, x...)
}

// extrasAfter writes back the unknown elements that followed the child named
// after ("" = before the first).
func (e *encoder) extrasAfter(x *Extra, after string, depth int, indent bool) {
	if x == nil {
		return
	}
	for _, el := range x.Elems {
		if el.After == after {
			e.raw(el.XML, depth, indent)
		}
	}
}

// extrasOrphaned writes the extras anchored to an element name the type does
// not have (only a hand-built Extra can hold those).
func (e *encoder) extrasOrphaned(x *Extra, depth int, indent bool, known func(string) bool) {
	for _, el := range x.Elems {
		if el.After != "" && !known(el.After) {
			e.raw(el.XML, depth, indent)
		}
	}
}

func (e *encoder) element(name string, v node, depth int, rootNS bool) {
	e.b = append(e.b, '<')
	e.b = append(e.b, name...)
	if rootNS {
		e.b = append(e.b, ` xmlns="`+NS+`"`...)
	}
	v.encodeAttrs(e)
	x := *v.extra()
	if x != nil {
		for i, a := range x.Attrs {
			e.b = append(e.b, ' ')
			if a.Space != "" {
				pfx := fmt.Sprintf("x%d", i)
				e.b = append(e.b, "xmlns:"+pfx+`="`...)
				e.b = xmlt.AppendEscapedAttr(e.b, a.Space)
				e.b = append(e.b, `" `+pfx+":"...)
			}
			e.b = append(e.b, a.Name...)
			e.b = append(e.b, '=', '"')
			e.b = xmlt.AppendEscapedAttr(e.b, a.Value)
			e.b = append(e.b, '"')
		}
	}
	text, parts, raw := v.content()
	mixed := (text != nil && *text != "") || (parts != nil && len(*parts) > 0) || (x != nil && x.Text != "")
	hasRaw := raw != nil && len(*raw) > 0
	if !mixed && !hasRaw && !(x != nil && len(x.Elems) > 0) && !v.hasChildren() {
		e.b = append(e.b, '/', '>')
		return
	}
	e.b = append(e.b, '>')
	if x != nil && x.Text != "" {
		e.b = xmlt.AppendEscapedText(e.b, x.Text)
	}
	if text != nil {
		e.b = xmlt.AppendEscapedText(e.b, *text)
	}
	if parts != nil {
		for _, part := range *parts {
			if part.Name == "" {
				e.b = xmlt.AppendEscapedText(e.b, part.Text)
				continue
			}
			e.b = append(e.b, '<')
			e.b = append(e.b, part.Name...)
			e.attr("qualifier", part.Qualifier)
			e.attr("partType", part.PartType)
			e.b = append(e.b, '>')
			e.b = xmlt.AppendEscapedText(e.b, part.Text)
			e.b = append(e.b, "</"...)
			e.b = append(e.b, part.Name...)
			e.b = append(e.b, '>')
		}
	}
	v.encodeChildren(e, depth, !mixed)
	if hasRaw {
		for _, r := range *raw {
			e.raw(r, depth, !mixed)
		}
	}
	if !mixed {
		e.indent(depth)
	}
	e.b = append(e.b, "</"...)
	e.b = append(e.b, name...)
	e.b = append(e.b, '>')
}

// isElement reports whether raw XML's root element is local in namespace ns.
func isElement(raw, local, ns string) bool {
	d := xmlt.NewDecoderString(raw, xmlt.Limits{MaxBytes: len(raw) + 1})
	k, err := d.Next()
	return err == nil && k == xmlt.StartElement && d.Name.Local == local && d.Name.Space == ns
}
