package signature

import (
	"slices"
	"strings"

	"github.com/openeps/openeps/internal/xmlt"
)

// Exclusive XML canonicalisation (http://www.w3.org/2001/10/xml-exc-c14n#)
// of element subtrees, written straight from the parsed tree.
//
// The EPS does not canonicalise the message itself: it reads the message into
// xml-js's "compact" objects, writes the pieces back out and canonicalises
// that (EPS-API serialisation/xml.ts, translation/request/signature.ts). To
// get the same bytes the EPS signs, epsMode reproduces what that round trip
// does to a document, which a plain canonicaliser would not:
//
//   - whitespace-only text is gone (xml-js never keeps it);
//   - an element's children come out grouped by name, each group where its
//     name first appeared (a compact object has one key per child name);
//   - in attribute values, each run of tabs becomes one space and each line
//     end a space (canonicaliseAttribute);
//   - HL7 elements are in urn:hl7-org:v3 whatever prefix the sender used,
//     or none (namespacedCopyOf puts xmlns="urn:hl7-org:v3" on each fragment).
//
// For well-formed prescriptions in schema order the first two change nothing,
// but they decide what the digest is for anything else.
type canonicaliser struct {
	t       *tree
	epsMode bool
	buf     []byte
	ns      []rendered // namespace bindings rendered by output ancestors
	// filter, if set, may replace how an element is written; it returns
	// false to fall through to the normal path.
	filter func(c *canonicaliser, i int32, depth int) bool
}

// rendered is a namespace declaration written on an output ancestor.
type rendered struct {
	prefix, uri string
	depth       int
}

// elementName returns the namespace and prefix an element is written with.
func (c *canonicaliser) elementName(n *node) (space, prefix string) {
	if c.epsMode && isHL7(n.name.Space) {
		return nsHL7, ""
	}
	return n.name.Space, n.name.Prefix
}

// lookup returns the URI the output ancestors bind prefix to.
func (c *canonicaliser) lookup(prefix string) (string, bool) {
	for i := len(c.ns) - 1; i >= 0; i-- {
		if c.ns[i].prefix == prefix {
			return c.ns[i].uri, true
		}
	}
	return "", false
}

type nsDecl struct{ prefix, uri string }

// writeElement writes element i and its subtree at output depth depth.
func (c *canonicaliser) writeElement(i int32, depth int) {
	if c.filter != nil && c.filter(c, i, depth) {
		return
	}
	c.startTag(i, depth, true)
	c.writeChildren(i, depth)
	c.endTag(i)
}

// popNS drops the namespace bindings rendered at depth or deeper.
func (c *canonicaliser) popNS(depth int) {
	for len(c.ns) > 0 && c.ns[len(c.ns)-1].depth >= depth {
		c.ns = c.ns[:len(c.ns)-1]
	}
}

// startTag writes <name ns-decls attrs>. withAttrs false writes the element
// without its attributes (used for the reduced repeatNumber).
func (c *canonicaliser) startTag(i int32, depth int, withAttrs bool) {
	n := &c.t.nodes[i]
	space, prefix := c.elementName(n)

	// The common case: an unprefixed element in the namespace its output
	// parent already declares, with no prefixed attribute.
	if prefix == "" && len(c.ns) > 0 && c.ns[len(c.ns)-1].prefix == "" && c.ns[len(c.ns)-1].uri == space {
		var attrs []xmlt.Attr
		if withAttrs {
			attrs = c.t.attrsOf(i)
		}
		plain := true
		for k := range attrs {
			if attrs[k].Name.Prefix != "" {
				plain = false
				break
			}
		}
		if plain {
			c.buf = append(c.buf, '<')
			c.buf = append(c.buf, n.name.Local...)
			if len(attrs) > 0 {
				c.writeAttrs(attrs)
			}
			c.buf = append(c.buf, '>')
			return
		}
	}

	// Namespace declarations: only the visibly utilised ones that an output
	// ancestor has not already rendered with the same value.
	var decls [4]nsDecl
	ds := decls[:0]
	need := func(p, uri string) {
		for _, d := range ds {
			if d.prefix == p {
				return
			}
		}
		got, ok := c.lookup(p)
		if ok && got == uri {
			return
		}
		if !ok && uri == "" { // the empty default namespace is implicit
			return
		}
		ds = append(ds, nsDecl{p, uri})
	}
	need(prefix, space)
	var attrs []xmlt.Attr
	if withAttrs {
		attrs = c.t.attrsOf(i)
		for _, a := range attrs {
			if a.Name.Prefix != "" && a.Name.Space != nsXML {
				need(a.Name.Prefix, a.Name.Space)
			}
		}
	}
	if len(ds) > 1 {
		slices.SortFunc(ds, func(a, b nsDecl) int { return strings.Compare(a.prefix, b.prefix) })
	}

	c.buf = append(c.buf, '<')
	c.buf = appendQName(c.buf, prefix, n.name.Local)
	for _, d := range ds {
		if d.prefix == "" {
			c.buf = append(c.buf, ` xmlns="`...)
		} else {
			c.buf = append(c.buf, " xmlns:"...)
			c.buf = append(c.buf, d.prefix...)
			c.buf = append(c.buf, `="`...)
		}
		c.buf = appendAttrValue(c.buf, d.uri)
		c.buf = append(c.buf, '"')
		c.ns = append(c.ns, rendered{d.prefix, d.uri, depth})
	}
	if len(attrs) > 0 {
		c.writeAttrs(attrs)
	}
	c.buf = append(c.buf, '>')
}

// writeAttrs writes attributes sorted by namespace URI, then local name.
func (c *canonicaliser) writeAttrs(attrs []xmlt.Attr) {
	sorted := attrs
	if !attrsSorted(attrs) {
		sorted = slices.Clone(attrs)
		slices.SortFunc(sorted, compareAttr)
	}
	for _, a := range sorted {
		c.buf = append(c.buf, ' ')
		c.buf = appendQName(c.buf, a.Name.Prefix, a.Name.Local)
		c.buf = append(c.buf, `="`...)
		v := a.Value
		switch {
		case plainAttr(v):
			c.buf = append(c.buf, v...)
		case c.epsMode:
			c.buf = appendAttrValue(c.buf, epsAttrValue(v))
		default:
			c.buf = appendAttrValue(c.buf, v)
		}
		c.buf = append(c.buf, '"')
	}
}

func compareAttr(a, b xmlt.Attr) int {
	if a.Name.Space != b.Name.Space {
		return strings.Compare(a.Name.Space, b.Name.Space)
	}
	return strings.Compare(a.Name.Local, b.Name.Local)
}

func attrsSorted(attrs []xmlt.Attr) bool {
	for k := 1; k < len(attrs); k++ {
		if compareAttr(attrs[k-1], attrs[k]) > 0 {
			return false
		}
	}
	return true
}

func (c *canonicaliser) endTag(i int32) {
	n := &c.t.nodes[i]
	_, prefix := c.elementName(n)
	c.buf = append(c.buf, "</"...)
	c.buf = appendQName(c.buf, prefix, n.name.Local)
	c.buf = append(c.buf, '>')
}

// writeChildren writes the children of i, then drops the namespace bindings
// rendered at this depth.
func (c *canonicaliser) writeChildren(i int32, depth int) {
	t := c.t
	n := &t.nodes[i]
	if c.epsMode && !c.childrenGrouped(n.first) {
		c.writeGrouped(i, depth)
	} else {
		for ch := n.first; ch != none; ch = t.nodes[ch].next {
			c.writeNode(ch, depth+1)
		}
	}
	c.popNS(depth)
}

func (c *canonicaliser) writeNode(i int32, depth int) {
	n := &c.t.nodes[i]
	if n.kind == textNode {
		if !c.dropped(i) {
			c.buf = appendText(c.buf, n.text)
		}
		return
	}
	c.writeElement(i, depth)
}

// dropped reports whether node i is white space the EPS reading ignores.
func (c *canonicaliser) dropped(i int32) bool {
	n := &c.t.nodes[i]
	return c.epsMode && n.kind == textNode && xmlt.IsSpace(n.text)
}

// groupKey identifies a child the way a compact xml-js object keys it.
type groupKey struct {
	text         bool
	space, local string
}

func (c *canonicaliser) keyOf(i int32) groupKey {
	n := &c.t.nodes[i]
	if n.kind == textNode {
		return groupKey{text: true}
	}
	space, _ := c.elementName(n)
	return groupKey{space: space, local: n.name.Local}
}

// childrenGrouped reports whether every name among the children starting at
// first appears in one run, so that grouping would not reorder them. This is
// the common case and costs no allocation; the map is for elements with many
// differently named children, so hostile input cannot make this quadratic.
func (c *canonicaliser) childrenGrouped(first int32) bool {
	t := c.t
	var heads [16]int32
	hs := heads[:0]
	var seen map[groupKey]bool
	prev := int32(none)
	for ch := first; ch != none; ch = t.nodes[ch].next {
		if c.dropped(ch) {
			continue
		}
		if prev != none && c.sameKey(ch, prev) {
			continue
		}
		prev = ch
		if seen != nil {
			k := c.keyOf(ch)
			if seen[k] {
				return false
			}
			seen[k] = true
			continue
		}
		for _, h := range hs {
			if c.sameKey(h, ch) {
				return false
			}
		}
		if len(hs) == cap(hs) {
			seen = make(map[groupKey]bool, 2*len(hs))
			for _, h := range hs {
				seen[c.keyOf(h)] = true
			}
			seen[c.keyOf(ch)] = true
			continue
		}
		hs = append(hs, ch)
	}
	return true
}

// sameKey reports whether nodes a and b fall in one group: keyOf(a) ==
// keyOf(b), without building the keys.
func (c *canonicaliser) sameKey(a, b int32) bool {
	x, y := &c.t.nodes[a], &c.t.nodes[b]
	if x.kind != y.kind {
		return false
	}
	if x.kind == textNode {
		return true
	}
	if x.name.Local != y.name.Local {
		return false
	}
	if c.epsMode && isHL7(x.name.Space) {
		return isHL7(y.name.Space)
	}
	return x.name.Space == y.name.Space
}

// writeGrouped writes the children of i grouped by name, each group at the
// position of its first member.
func (c *canonicaliser) writeGrouped(i int32, depth int) {
	t := c.t
	index := map[groupKey]int{}
	var groups [][]int32
	for ch := t.nodes[i].first; ch != none; ch = t.nodes[ch].next {
		if c.dropped(ch) {
			continue
		}
		k := c.keyOf(ch)
		g, ok := index[k]
		if !ok {
			g = len(groups)
			index[k] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], ch)
	}
	for _, g := range groups {
		for _, ch := range g {
			c.writeNode(ch, depth+1)
		}
	}
}

func appendQName(b []byte, prefix, local string) []byte {
	if prefix != "" {
		b = append(b, prefix...)
		b = append(b, ':')
	}
	return append(b, local...)
}

// appendText and appendAttrValue escape as C14N requires — text: &, <, >
// and CR; attribute values: &, <, ", tab, LF and CR — which is exactly what
// xmlt's encoder writes (its tests hold it to that).
var (
	appendText      = xmlt.AppendEscapedText
	appendAttrValue = xmlt.AppendEscapedAttr
)

// attrSpecial marks the bytes an attribute value cannot be copied with.
var attrSpecial = [256]bool{'&': true, '<': true, '"': true, '\t': true, '\n': true, '\r': true, '\f': true}

// plainAttr reports whether v needs neither escaping nor the EPS's
// whitespace rule: nearly every value.
func plainAttr(v string) bool {
	for i := 0; i < len(v); i++ {
		if attrSpecial[v[i]] {
			return false
		}
	}
	return true
}

// epsAttrValue applies the EPS's canonicaliseAttribute: each run of tabs (or
// form feeds) becomes one space, then each LF or CRLF a space. Literal
// whitespace has already become spaces when the value was parsed, so only
// character references reach this.
func epsAttrValue(v string) string {
	if !strings.ContainsAny(v, "\t\f\n") {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		switch ch := v[i]; ch {
		case '\t', '\f':
			for i+1 < len(v) && (v[i+1] == '\t' || v[i+1] == '\f') {
				i++
			}
			b.WriteByte(' ')
		default:
			b.WriteByte(ch)
		}
	}
	s := b.String()
	s = strings.ReplaceAll(s, "\r\n", " ")
	return strings.ReplaceAll(s, "\n", " ")
}
