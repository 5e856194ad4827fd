package hl7v3

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

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
// Children are matched by name in any order (real messages are not always in
// schema order) and written back in the struct's order, which is the schema's.

type fieldKind uint8

const (
	kElem fieldKind = iota
	kAttr
	kText
	kParts
	kAny
	kExtra
)

type fieldInfo struct {
	name  string
	kind  fieldKind
	index int
	req   bool
	slice bool
	ptr   bool
	typ   reflect.Type // element struct type for kElem
	pl    *plan        // resolved plan for kElem
}

type plan struct {
	typ    reflect.Type
	name   string // Go type name, for messages
	attrs  []fieldInfo
	elems  []fieldInfo
	byName map[string]int // element name → index in elems
	text   int            // field index or -1
	parts  int
	anyX   int
	extra  int
}

var plans sync.Map // reflect.Type → *plan

var (
	partsType = reflect.TypeOf([]Part(nil))
	rawType   = reflect.TypeOf([]RawXML(nil))
	extraType = reflect.TypeOf((*Extra)(nil))
)

func planFor(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	mu.Lock()
	defer mu.Unlock()
	return buildPlan(t, map[reflect.Type]*plan{})
}

var mu sync.Mutex

func buildPlan(t reflect.Type, building map[reflect.Type]*plan) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	if p, ok := building[t]; ok {
		return p
	}
	p := &plan{typ: t, name: t.Name(), byName: map[string]int{}, text: -1, parts: -1, anyX: -1, extra: -1}
	building[t] = p
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("hl7")
		if !ok {
			continue
		}
		opts := strings.Split(tag, ",")
		fi := fieldInfo{name: opts[0], index: i}
		for _, o := range opts[1:] {
			switch o {
			case "attr":
				fi.kind = kAttr
			case "req":
				fi.req = true
			case "text":
				fi.kind = kText
			case "parts":
				fi.kind = kParts
			case "any":
				fi.kind = kAny
			case "extra":
				fi.kind = kExtra
			default:
				panic(fmt.Sprintf("hl7v3: %s.%s: unknown tag option %q", t.Name(), sf.Name, o))
			}
		}
		switch fi.kind {
		case kAttr:
			p.attrs = append(p.attrs, fi)
		case kText:
			p.text = i
		case kParts:
			p.parts = i
		case kAny:
			p.anyX = i
		case kExtra:
			p.extra = i
		case kElem:
			ft := sf.Type
			switch ft.Kind() {
			case reflect.Slice:
				fi.slice = true
				ft = ft.Elem()
			case reflect.Pointer:
				fi.ptr = true
				ft = ft.Elem()
			}
			fi.typ = ft
			p.byName[fi.name] = len(p.elems)
			p.elems = append(p.elems, fi)
		}
	}
	for i := range p.elems {
		p.elems[i].pl = buildPlan(p.elems[i].typ, building)
	}
	plans.Store(t, p)
	return p
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
}

func (p Problem) String() string { return p.Path + ": " + p.Msg }

type decoder struct {
	d        *xmlt.Decoder
	ns       string // the namespace read as HL7: NS, or "" for bare payload documents
	path     []string
	problems []Problem
}

func (c *decoder) errf(format string, args ...any) error {
	return &DecodeError{Path: "/" + strings.Join(c.path, "/"), Msg: fmt.Sprintf(format, args...)}
}

func (c *decoder) problem(warning bool, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: "/" + strings.Join(c.path, "/"), Msg: fmt.Sprintf(format, args...), Warning: warning})
}

// decodeElement fills v (a struct) from the element whose start tag was just read.
func (c *decoder) decodeElement(v reflect.Value, p *plan) error {
	d := c.d
	for _, a := range d.Attrs {
		if a.Name.Space == xmlt.XMLNS {
			continue
		}
		matched := false
		if a.Name.Space == "" {
			for _, fi := range p.attrs {
				if fi.name == a.Name.Local {
					v.Field(fi.index).SetString(a.Value)
					matched = true
					break
				}
			}
		}
		if !matched {
			if p.extra < 0 {
				return c.errf("unexpected attribute %s", a.Name.Local)
			}
			x := extraOf(v, p)
			x.Attrs = append(x.Attrs, ExtraAttr{Space: a.Name.Space, Name: a.Name.Local, Value: a.Value})
			c.problem(true, "attribute %s is not in the schema", a.Name.Local)
		}
	}
	for _, fi := range p.attrs {
		if fi.req && v.Field(fi.index).String() == "" {
			c.problem(false, "attribute %s is required", fi.name)
		}
	}
	var seen uint64
	var seenMore map[int]bool // for plans with more than 64 elements
	markSeen := func(i int) bool {
		if i < 64 {
			was := seen&(1<<uint(i)) != 0
			seen |= 1 << uint(i)
			return was
		}
		if seenMore == nil {
			seenMore = map[int]bool{}
		}
		was := seenMore[i]
		seenMore[i] = true
		return was
	}
	isSeen := func(i int) bool {
		if i < 64 {
			return seen&(1<<uint(i)) != 0
		}
		return seenMore[i]
	}
	var text strings.Builder
	hasText := false
	children := false
	last := ""
	for {
		k, err := d.Next()
		if err != nil {
			return c.errf("%v", err)
		}
		switch k {
		case xmlt.EndElement:
			// White space between child elements is layout, not text.
			if p.text >= 0 && hasText && !(children && xmlt.IsSpace(text.String())) {
				v.Field(p.text).SetString(text.String())
			}
			for i, fi := range p.elems {
				if fi.req && !isSeen(i) {
					c.problem(false, "element %s is required", fi.name)
				}
			}
			return nil
		case xmlt.Text:
			switch {
			case p.text >= 0:
				text.WriteString(d.Text)
				hasText = true
			case p.parts >= 0:
				if !xmlt.IsSpace(d.Text) {
					appendPart(v.Field(p.parts), Part{Text: d.Text})
				}
			case !xmlt.IsSpace(d.Text):
				if p.extra < 0 {
					return c.errf("unexpected text %.40q", d.Text)
				}
				x := extraOf(v, p)
				x.Text += d.Text
				c.problem(false, "unexpected text %.40q", d.Text)
			}
		case xmlt.StartElement:
			children = true
			name := d.Name
			if name.Space == c.ns {
				if i, ok := p.byName[name.Local]; ok {
					fi := &p.elems[i]
					if markSeen(i) && !fi.slice {
						// Kept, in Extra, but the message is not valid.
						c.problem(false, "element %s appears more than once", name.Local)
						raw, err := c.captureRaw()
						if err != nil {
							return err
						}
						x := extraOf(v, p)
						x.Elems = append(x.Elems, ExtraElem{After: name.Local, XML: raw})
						continue
					}
					c.path = append(c.path, name.Local)
					if err := c.decodeField(v.Field(fi.index), fi); err != nil {
						return err
					}
					c.path = c.path[:len(c.path)-1]
					last = name.Local
					continue
				}
				if p.parts >= 0 {
					part, err := c.decodePart()
					if err != nil {
						return err
					}
					appendPart(v.Field(p.parts), part)
					continue
				}
			}
			if p.anyX >= 0 {
				raw, err := c.captureRaw()
				if err != nil {
					return err
				}
				f := v.Field(p.anyX)
				f.Set(reflect.Append(f, reflect.ValueOf(raw)))
				continue
			}
			if p.extra < 0 {
				return c.errf("unexpected element %s", name.Local)
			}
			c.path = append(c.path, name.Local)
			c.problem(true, "element is not in the schema here")
			c.path = c.path[:len(c.path)-1]
			raw, err := c.captureRaw()
			if err != nil {
				return err
			}
			x := extraOf(v, p)
			x.Elems = append(x.Elems, ExtraElem{After: last, XML: raw})
		}
	}
}

func extraOf(v reflect.Value, p *plan) *Extra {
	f := v.Field(p.extra)
	if f.IsNil() {
		f.Set(reflect.ValueOf(&Extra{}))
	}
	return f.Interface().(*Extra)
}

func appendPart(f reflect.Value, part Part) {
	ps := f.Addr().Interface().(*[]Part)
	*ps = append(*ps, part)
}

func (c *decoder) decodeField(f reflect.Value, fi *fieldInfo) error {
	switch {
	case fi.slice:
		n := f.Len()
		if n == f.Cap() {
			nf := reflect.MakeSlice(f.Type(), n, 2*n+1)
			reflect.Copy(nf, f)
			f.Set(nf)
		}
		f.SetLen(n + 1)
		return c.decodeElement(f.Index(n), fi.pl)
	case fi.ptr:
		nv := reflect.New(fi.typ)
		f.Set(nv)
		return c.decodeElement(nv.Elem(), fi.pl)
	default:
		return c.decodeElement(f, fi.pl)
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
	var text strings.Builder
	for {
		k, err := d.Next()
		if err != nil {
			return part, c.errf("%v", err)
		}
		switch k {
		case xmlt.Text:
			text.WriteString(d.Text)
		case xmlt.EndElement:
			part.Text = text.String()
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
	scope := d.InScope()
	base := d.Depth()
	// Prefixes used inside the subtree and declared inside it, by depth.
	declared := map[string]int{}
	needed := map[string]bool{}
	note := func(prefix string, depth int) {
		if dd, ok := declared[prefix]; ok && dd <= depth {
			return
		}
		needed[prefix] = true
	}
	visit := func() {
		depth := d.Depth()
		for _, a := range d.Attrs {
			if a.Name.Space == xmlt.XMLNS {
				pfx := a.Name.Local
				if a.Name.Prefix == "" {
					pfx = ""
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
		uri := scope[pfx]
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

// encoder writes a struct as XML, indented by two spaces per level except
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

func (e *encoder) encodeElement(name string, v reflect.Value, p *plan, depth int, rootNS bool) {
	e.b = append(e.b, '<')
	e.b = append(e.b, name...)
	if rootNS {
		e.b = append(e.b, ` xmlns="`+NS+`"`...)
	}
	for _, fi := range p.attrs {
		s := v.Field(fi.index).String()
		if s == "" {
			continue
		}
		e.b = append(e.b, ' ')
		e.b = append(e.b, fi.name...)
		e.b = append(e.b, '=', '"')
		e.b = xmlt.AppendEscapedAttr(e.b, s)
		e.b = append(e.b, '"')
	}
	var x *Extra
	if p.extra >= 0 {
		x, _ = v.Field(p.extra).Interface().(*Extra)
	}
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
	mixed := (p.text >= 0 && v.Field(p.text).String() != "") || (p.parts >= 0 && v.Field(p.parts).Len() > 0) ||
		(x != nil && x.Text != "")
	if !mixed && !hasElementContent(v, p, x) {
		e.b = append(e.b, '/', '>')
		return
	}
	e.b = append(e.b, '>')
	if x != nil && x.Text != "" {
		e.b = xmlt.AppendEscapedText(e.b, x.Text)
	}
	if p.text >= 0 {
		e.b = xmlt.AppendEscapedText(e.b, v.Field(p.text).String())
	}
	if p.parts >= 0 {
		for _, part := range v.Field(p.parts).Interface().([]Part) {
			if part.Name == "" {
				e.b = xmlt.AppendEscapedText(e.b, part.Text)
				continue
			}
			e.b = append(e.b, '<')
			e.b = append(e.b, part.Name...)
			if part.Qualifier != "" {
				e.b = append(e.b, ` qualifier="`...)
				e.b = xmlt.AppendEscapedAttr(e.b, part.Qualifier)
				e.b = append(e.b, '"')
			}
			if part.PartType != "" {
				e.b = append(e.b, ` partType="`...)
				e.b = xmlt.AppendEscapedAttr(e.b, part.PartType)
				e.b = append(e.b, '"')
			}
			e.b = append(e.b, '>')
			e.b = xmlt.AppendEscapedText(e.b, part.Text)
			e.b = append(e.b, "</"...)
			e.b = append(e.b, part.Name...)
			e.b = append(e.b, '>')
		}
	}
	child := func(write func()) {
		if !mixed {
			e.indent(depth + 1)
		}
		write()
	}
	extrasAfter := func(after string) {
		if x == nil {
			return
		}
		for _, el := range x.Elems {
			if el.After == after {
				child(func() { e.b = append(e.b, el.XML...) })
			}
		}
	}
	extrasAfter("")
	for _, fi := range p.elems {
		f := v.Field(fi.index)
		switch {
		case fi.slice:
			for j := 0; j < f.Len(); j++ {
				child(func() { e.encodeElement(fi.name, f.Index(j), fi.pl, depth+1, false) })
			}
		case fi.ptr:
			if !f.IsNil() {
				child(func() { e.encodeElement(fi.name, f.Elem(), fi.pl, depth+1, false) })
			}
		default:
			// Required: always written, even empty (<value/> is a value).
			child(func() { e.encodeElement(fi.name, f, fi.pl, depth+1, false) })
		}
		extrasAfter(fi.name)
	}
	if p.anyX >= 0 {
		for _, raw := range v.Field(p.anyX).Interface().([]RawXML) {
			child(func() { e.b = append(e.b, raw...) })
		}
	}
	if x != nil {
		// Extras anchored to an element name this type does not have.
		for _, el := range x.Elems {
			if el.After != "" {
				if _, ok := p.byName[el.After]; !ok {
					child(func() { e.b = append(e.b, el.XML...) })
				}
			}
		}
	}
	if !mixed {
		e.indent(depth)
	}
	e.b = append(e.b, "</"...)
	e.b = append(e.b, name...)
	e.b = append(e.b, '>')
}

func hasElementContent(v reflect.Value, p *plan, x *Extra) bool {
	if x != nil && len(x.Elems) > 0 {
		return true
	}
	if p.anyX >= 0 && v.Field(p.anyX).Len() > 0 {
		return true
	}
	for _, fi := range p.elems {
		f := v.Field(fi.index)
		switch {
		case fi.slice:
			if f.Len() > 0 {
				return true
			}
		case fi.ptr:
			if !f.IsNil() {
				return true
			}
		default:
			return true
		}
	}
	return false
}
