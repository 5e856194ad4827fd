package signature

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/openeps/openeps/internal/xmlt"
)

// Namespaces the signature code matches on.
const (
	nsHL7  = "urn:hl7-org:v3"
	nsDSig = "http://www.w3.org/2000/09/xmldsig#"
	nsXML  = "http://www.w3.org/XML/1998/namespace"
)

// Limits for the documents Verify and Sign accept. A release response carries
// up to 25 prescriptions of 10–20 KB each, far below the size cap; HL7 V3
// nesting stays under 30 levels.
var parseLimits = xmlt.Limits{MaxBytes: 8 << 20, MaxDepth: 96, MaxAttrs: 64}

const none = -1

type nodeKind uint8

const (
	elemNode nodeKind = iota
	textNode
)

// node is one element or text node of a parsed document. Nodes live in one
// slice and link to each other by index, so a whole prescription costs a few
// allocations rather than one per node.
type node struct {
	kind      nodeKind
	name      xmlt.Name // elements
	text      string    // text nodes (decoded)
	attrFirst int32     // elements: attributes are tree.attrs[attrFirst : attrFirst+attrN]
	attrN     int32
	parent    int32
	first     int32 // first child
	last      int32 // last child
	next      int32 // next sibling

	// Byte offsets of the element's tags in the source, for splicing in Sign.
	startTag, startTagEnd, endTag, endTagEnd int32
}

// tree is a parsed document. Namespace declarations are not kept as
// attributes: the canonicaliser works out which ones to render from the
// resolved names, as exclusive canonicalisation requires.
//
// Whitespace-only text is dropped except inside XML-DSig elements. That is
// what the EPS does (its xml-js reader never captures space between
// elements, and the signature is computed over what it writes back), and the
// verifier keeps the DSig whitespace only to try the strict XML-DSig reading
// of SignedInfo as a second chance.
type tree struct {
	src   string
	nodes []node
	attrs []xmlt.Attr
	roots []int32 // nodes without a parent: the root, or each ParentPrescription
}

// parse reads a whole document. It fails on anything xmlt refuses (DTDs,
// entities, malformed XML, limits).
func parse(b []byte) (*tree, error) {
	t := &tree{src: string(b)}
	// HL7 V3 runs at about one element or text node per 30 bytes, and one
	// attribute per 40.
	t.nodes = make([]node, 0, len(b)/24+16)
	t.attrs = make([]xmlt.Attr, 0, len(b)/32+16)
	return t, t.read(false)
}

// parseSigned is parse keeping only what signatures need (see keepMode).
func parseSigned(b []byte) (*tree, error) {
	t := &tree{src: string(b)}
	t.nodes = make([]node, 0, len(b)/48+16)
	t.attrs = make([]xmlt.Attr, 0, len(b)/64+16)
	return t, t.read(true)
}

// getTree parses the signed parts of b into a tree from the pool; putTree
// returns it. Verify reuses trees so that a busy service does not allocate
// (and the garbage collector scan) a few hundred nodes per prescription, and
// reads b in place rather than copying it: nothing that outlives the call
// may keep a string from the tree (clone it), and b must not change while
// the tree is in use.
func getTree(b []byte) (*tree, error) {
	t := treePool.Get().(*tree)
	t.src = unsafe.String(unsafe.SliceData(b), len(b))
	t.nodes = t.nodes[:0]
	t.attrs = t.attrs[:0]
	t.roots = t.roots[:0]
	if err := t.read(true); err != nil {
		putTree(t)
		return nil, err
	}
	return t, nil
}

var treePool = sync.Pool{New: func() any { return &tree{} }}

func putTree(t *tree) {
	if cap(t.nodes) > 1<<16 { // do not keep the arena of a huge message
		return
	}
	clear(t.nodes)
	clear(t.attrs)
	t.src = ""
	treePool.Put(t)
}

// What read keeps of an element's children. The whole document is read
// (and checked) either way; in selective mode only the ParentPrescriptions'
// signed parts and the path to them become nodes, which is most of the cost
// of reading a prescription saved.
type keepMode uint8

const (
	keepAll     keepMode = iota // every child, text included
	keepNone                    // nothing below
	keepOutside                 // not yet in a ParentPrescription: only ParentPrescription
	keepPP                      // ParentPrescription: recordTarget, pertinentInformation1
	keepPI1                     // pertinentInformation1: pertinentPrescription
	keepPresc                   // pertinentPrescription: id, author, pertinentInformation2
)

// classify says whether a child named n of an element read in mode m is
// kept, and how its own children are.
func classify(m keepMode, n xmlt.Name) (child keepMode, keep bool) {
	switch m {
	case keepAll:
		return keepAll, true
	case keepNone:
		return keepNone, false
	}
	if !isHL7(n.Space) {
		if m == keepOutside {
			return keepOutside, false
		}
		return keepNone, false
	}
	switch m {
	case keepOutside:
		if n.Local == "ParentPrescription" {
			return keepPP, true
		}
		return keepOutside, false
	case keepPP:
		switch n.Local {
		case "recordTarget":
			return keepAll, true
		case "pertinentInformation1":
			return keepPI1, true
		}
	case keepPI1:
		if n.Local == "pertinentPrescription" {
			return keepPresc, true
		}
	case keepPresc:
		switch n.Local {
		case "id", "author", "pertinentInformation2":
			return keepAll, true
		}
	}
	return keepNone, false
}

type frame struct {
	mode keepMode // how this element's children are read
	kept bool     // whether this element is a node
}

// read parses t.src. selective false keeps every element and text; true
// only what signatures need (see keepMode).
func (t *tree) read(selective bool) error {
	d := xmlt.NewDecoderString(t.src, parseLimits)
	cur := int32(none)
	var stackBuf [32]frame
	stack := stackBuf[:0]
	top := keepAll
	if selective {
		top = keepOutside
	}
	for {
		// White space between elements is dropped below except inside
		// XML-DSig elements; letting the tokenizer skip it everywhere else
		// saves reading (and allocating) most of a pretty-printed message's
		// text tokens.
		d.SkipSpace = cur == none || t.nodes[cur].name.Space != nsDSig
		k, err := d.Next()
		if err != nil {
			return err
		}
		switch k {
		case xmlt.EOF:
			if !selective && len(t.nodes) == 0 {
				return fmt.Errorf("no root element")
			}
			return nil
		case xmlt.StartElement:
			mode, keep := classify(top, d.Name)
			stack = append(stack, frame{mode: mode, kept: keep})
			top = mode
			if !keep {
				continue
			}
			n := node{
				kind:        elemNode,
				name:        d.Name,
				attrFirst:   int32(len(t.attrs)),
				parent:      cur,
				first:       none,
				last:        none,
				next:        none,
				startTag:    int32(d.TokenStart),
				startTagEnd: int32(d.Offset()),
			}
			for _, a := range d.Attrs {
				if a.Name.Space == xmlt.XMLNS {
					continue
				}
				t.attrs = append(t.attrs, a)
			}
			n.attrN = int32(len(t.attrs)) - n.attrFirst
			if cur == none {
				t.roots = append(t.roots, int32(len(t.nodes)))
			}
			cur = t.appendChild(cur, n)
		case xmlt.EndElement:
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			top = keepOutside
			if len(stack) > 0 {
				top = stack[len(stack)-1].mode
			} else if !selective {
				top = keepAll
			}
			if !f.kept {
				continue
			}
			n := &t.nodes[cur]
			if int32(d.TokenStart) == n.startTag { // <x/>: no end tag of its own
				n.endTag, n.endTagEnd = n.startTagEnd, n.startTagEnd
			} else {
				n.endTag, n.endTagEnd = int32(d.TokenStart), int32(d.Offset())
			}
			cur = n.parent
		case xmlt.Text:
			if cur == none || top != keepAll {
				continue
			}
			if isSpace(d.Text) && t.nodes[cur].name.Space != nsDSig {
				continue
			}
			// Text split by a comment or a CDATA section is one text node.
			if l := t.nodes[cur].last; l != none && t.nodes[l].kind == textNode {
				t.nodes[l].text += d.Text
				continue
			}
			t.appendChild(cur, node{kind: textNode, text: d.Text, parent: cur, first: none, last: none, next: none})
		}
	}
}

// isSpace reports whether s is only XML white space.
func isSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\n', '\t', '\r':
		default:
			return false
		}
	}
	return true
}

// appendChild adds n as the last child of parent and returns its index.
func (t *tree) appendChild(parent int32, n node) int32 {
	i := int32(len(t.nodes))
	t.nodes = append(t.nodes, n)
	if parent != none {
		p := &t.nodes[parent]
		if p.last == none {
			p.first = i
		} else {
			t.nodes[p.last].next = i
		}
		p.last = i
	}
	return i
}

func (t *tree) attrsOf(i int32) []xmlt.Attr {
	n := &t.nodes[i]
	return t.attrs[n.attrFirst : n.attrFirst+n.attrN]
}

// attr returns the value of the unqualified attribute local on element i.
func (t *tree) attr(i int32, local string) (string, bool) {
	for _, a := range t.attrsOf(i) {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// isHL7 reports whether an element namespace counts as HL7 V3. Prescriptions
// are in urn:hl7-org:v3; the EPS test vectors are bare payloads with no
// namespace at all, and the EPS reads both the same way.
func isHL7(space string) bool { return space == nsHL7 || space == "" }

// hl7Children returns the HL7 children of element i named local.
func (t *tree) hl7Children(i int32, local string) []int32 {
	var out []int32
	for c := t.nodes[i].first; c != none; c = t.nodes[c].next {
		n := &t.nodes[c]
		if n.kind == elemNode && n.name.Local == local && isHL7(n.name.Space) {
			out = append(out, c)
		}
	}
	return out
}

// hl7Child returns the first HL7 child of i named local, or none.
func (t *tree) hl7Child(i int32, local string) int32 {
	for c := t.nodes[i].first; c != none; c = t.nodes[c].next {
		n := &t.nodes[c]
		if n.kind == elemNode && n.name.Local == local && isHL7(n.name.Space) {
			return c
		}
	}
	return none
}

// dsigChildren returns the XML-DSig children of element i named local.
func (t *tree) dsigChildren(i int32, local string) []int32 {
	var out []int32
	for c := t.nodes[i].first; c != none; c = t.nodes[c].next {
		n := &t.nodes[c]
		if n.kind == elemNode && n.name.Local == local && n.name.Space == nsDSig {
			out = append(out, c)
		}
	}
	return out
}

// textOf returns the concatenated text children of element i.
func (t *tree) textOf(i int32) string {
	var s string
	for c := t.nodes[i].first; c != none; c = t.nodes[c].next {
		if t.nodes[c].kind == textNode {
			s += t.nodes[c].text
		}
	}
	return s
}

// findAll returns every HL7 element named local, in document order, without
// descending into matches (a ParentPrescription never nests another).
func (t *tree) findAll(local string) []int32 {
	var out []int32
	var walk func(i int32)
	walk = func(i int32) {
		n := &t.nodes[i]
		if n.kind != elemNode {
			return
		}
		if n.name.Local == local && isHL7(n.name.Space) {
			out = append(out, i)
			return
		}
		for c := n.first; c != none; c = t.nodes[c].next {
			walk(c)
		}
	}
	for _, r := range t.roots {
		walk(r)
	}
	return out
}
