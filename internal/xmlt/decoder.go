// Package xmlt is a small, fast XML tokenizer for the messages openeps reads
// from the network. It exists because encoding/xml is both too slow for the
// service's budget (tens of microseconds per prescription) and too permissive
// for hostile input. It reads a whole document held in memory and:
//
//   - refuses DOCTYPE, DTDs and entity declarations outright (no entity
//     expansion attacks are possible: only the five predefined entities and
//     character references are decoded);
//   - bounds nesting depth, attribute count and document size;
//   - requires well-formed UTF-8 and well-formed XML (matching end tags, one
//     root, no duplicate attributes, no stray text outside the root);
//   - resolves namespace prefixes, so callers match on (namespace, local name)
//     whatever prefixes the sender chose;
//   - returns names and values as substrings of one copy of the input, so a
//     typical document costs a handful of allocations.
package xmlt

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits bound what a document may contain. Zero fields take the defaults.
type Limits struct {
	MaxBytes int // whole document (default 8 MiB)
	MaxDepth int // element nesting (default 64)
	MaxAttrs int // attributes on one element (default 64)
}

const (
	defaultMaxBytes = 8 << 20
	defaultMaxDepth = 64
	defaultMaxAttrs = 64
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = defaultMaxBytes
	}
	if l.MaxBytes > 1<<30 {
		l.MaxBytes = 1 << 30 // offsets are kept in 32 bits
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = defaultMaxDepth
	}
	if l.MaxAttrs <= 0 {
		l.MaxAttrs = defaultMaxAttrs
	}
	return l
}

// Kind is the kind of a token.
type Kind int

const (
	EOF Kind = iota
	StartElement
	EndElement
	Text // character data, CDATA included; Decoder.Text holds it decoded
)

// Name is a namespace-resolved XML name.
type Name struct {
	Space  string // namespace URI, "" if none
	Local  string
	Prefix string // the prefix as written, "" if none
}

// Attr is one attribute. Namespace declarations (xmlns, xmlns:p) are reported
// with Name.Space "xmlns" so callers can skip or keep them.
type Attr struct {
	Name  Name
	Value string
}

// XMLNS is the Space given to namespace declaration attributes.
const XMLNS = "xmlns"

// Error is a syntax or limit error with the byte offset where it was found.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("xml: %s (at byte %d)", e.Msg, e.Offset) }

// ErrForbidden is wrapped by errors about constructs refused on principle (DTDs, entities).
var ErrForbidden = errors.New("forbidden construct")

// open is an element whose end tag is still to come.
// Offsets rather than strings: writing them costs no GC write barrier.
type open struct {
	start, end int32 // the name as written in the start tag: s[start:end]
	colon      int32 // offset of the prefix's colon in the name, or -1
	ns         int32 // index in Decoder.ns of the namespace binding, or -1
}

type nsBinding struct {
	prefix string
	uri    string
	depth  int
}

// Decoder reads tokens from a document. After Next returns StartElement, Name
// and Attrs describe the element (Attrs is reused by the following call);
// after EndElement, Name is the element closed; after Text, Text holds the
// decoded character data.
type Decoder struct {
	s       string
	pos     int
	lim     Limits
	depth   int
	stack   []open // open elements
	ns      []nsBinding
	started bool // start has run
	rootOK  bool // the root element has been closed
	seen    bool // a root element has started

	selfClose bool // the last start tag was <x/>: an end token is pending

	bufs struct {
		stack [24]open
		attrs [8]Attr
		ns    [8]nsBinding
	}

	Name  Name
	Attrs []Attr
	Text  string
	// TokenStart is the offset of the current token's first byte (for
	// StartElement, the '<').
	TokenStart int

	// SkipSpace, while set, drops character data that is only white space
	// (the layout between child elements) instead of returning it as a Text
	// token. Callers set it per element, so the same document can keep the
	// white space of the elements whose text matters.
	SkipSpace bool
}

// NewDecoder returns a decoder over a copy of b.
func NewDecoder(b []byte, lim Limits) *Decoder {
	return NewDecoderString(string(b), lim)
}

// NewDecoderString returns a decoder over s (no copy).
func NewDecoderString(s string, lim Limits) *Decoder {
	d := &Decoder{s: s, lim: lim.withDefaults()}
	// Room for a typical message's nesting, attributes and namespaces in the
	// same allocation as the decoder.
	d.stack = d.bufs.stack[:0]
	d.Attrs = d.bufs.attrs[:0]
	d.ns = d.bufs.ns[:0]
	d.ns = append(d.ns, nsBinding{prefix: "xml", uri: "http://www.w3.org/XML/1998/namespace", depth: -1})
	return d
}

// Source returns the document the decoder reads.
func (d *Decoder) Source() string { return d.s }

// Offset returns the offset of the next byte to be read.
func (d *Decoder) Offset() int { return d.pos }

// Depth returns the number of open elements.
func (d *Decoder) Depth() int { return d.depth }

func (d *Decoder) badChar(offset int) error {
	return &Error{Offset: offset, Msg: "invalid UTF-8 or a character XML does not allow"}
}

func (d *Decoder) errf(format string, args ...any) error {
	return &Error{Offset: d.pos, Msg: fmt.Sprintf(format, args...)}
}

// Start checks the document as a whole before tokenising: size, UTF-8, and the
// absence of any DOCTYPE. Next calls it on first use.
func (d *Decoder) start() error {
	if len(d.s) > d.lim.MaxBytes {
		return &Error{Offset: d.lim.MaxBytes, Msg: fmt.Sprintf("document larger than %d bytes", d.lim.MaxBytes)}
	}
	// UTF-8 and the two non-characters here; control characters are checked
	// in the tokens that may hold them (names and the space inside tags
	// cannot), which costs nothing extra on the way.
	if !utf8.ValidString(d.s) || strings.Contains(d.s, "\uFFFE") || strings.Contains(d.s, "\uFFFF") {
		i := 0
		for i < len(d.s) {
			r, n := utf8.DecodeRuneInString(d.s[i:])
			if r == utf8.RuneError && n <= 1 || r == 0xFFFE || r == 0xFFFF {
				break
			}
			i += n
		}
		return &Error{Offset: i, Msg: "invalid UTF-8 or a character XML does not allow"}
	}
	// A byte-order mark is allowed at the very start.
	d.pos = 0
	if strings.HasPrefix(d.s, "\uFEFF") {
		d.pos = 3
	}
	return nil
}

// Next advances to the next token. Comments and processing instructions are
// skipped; whitespace outside the root element is skipped; at the end of the
// document it returns EOF (with an error if the root was never closed).
func (d *Decoder) Next() (Kind, error) {
	if !d.started {
		d.started = true
		if err := d.start(); err != nil {
			return EOF, err
		}
	}
	if d.selfClose {
		d.selfClose = false
		return d.end()
	}
	for {
		if d.pos >= len(d.s) {
			if !d.rootOK {
				if !d.seen {
					return EOF, d.errf("no root element")
				}
				return EOF, d.errf("unexpected end of document inside <%s>", d.s[d.stack[len(d.stack)-1].start:d.stack[len(d.stack)-1].end])
			}
			return EOF, nil
		}
		if d.s[d.pos] != '<' {
			start := d.pos
			if d.SkipSpace || d.depth == 0 {
				// Layout white space: skip it without making a token
				// (indentation a word at a time).
				s, j := d.s, start
				for {
					for j+8 <= len(s) && load8(s, j) == lo8*' ' {
						j += 8
					}
					if j < len(s) && (s[j] == ' ' || s[j] == '\n' || s[j] == '\t' || s[j] == '\r') {
						j++
						continue
					}
					break
				}
				if j == len(s) || s[j] == '<' {
					d.pos = j
					continue
				}
			}
			i := strings.IndexByte(d.s[d.pos:], '<')
			if i < 0 {
				i = len(d.s) - d.pos
			}
			raw := d.s[d.pos : d.pos+i]
			d.pos += i
			if d.depth == 0 {
				if !isSpace(raw) {
					return EOF, &Error{Offset: start, Msg: "text outside the root element"}
				}
				continue
			}
			txt, err := unescape(raw, start)
			if err != nil {
				return EOF, err
			}
			d.TokenStart = start
			d.Text = txt
			return Text, nil
		}
		// Markup: dispatch on the byte after '<'.
		rest := d.s[d.pos:]
		if len(rest) < 2 {
			return EOF, d.errf("unexpected end of document")
		}
		switch rest[1] {
		case '/':
			return d.endTag()
		case '?':
			if err := d.procInst(); err != nil {
				return EOF, err
			}
		case '!':
			switch {
			case strings.HasPrefix(rest, "<!--"):
				end := strings.Index(rest[4:], "-->")
				if end < 0 {
					return EOF, d.errf("unterminated comment")
				}
				if j := badControl(rest[4 : 4+end]); j >= 0 {
					return EOF, d.badChar(d.pos + 4 + j)
				}
				d.pos += 4 + end + 3
			case strings.HasPrefix(rest, "<![CDATA["):
				if d.depth == 0 {
					return EOF, d.errf("CDATA outside the root element")
				}
				end := strings.Index(rest[9:], "]]>")
				if end < 0 {
					return EOF, d.errf("unterminated CDATA section")
				}
				if j := badControl(rest[9 : 9+end]); j >= 0 {
					return EOF, d.badChar(d.pos + 9 + j)
				}
				d.TokenStart = d.pos
				d.Text = rest[9 : 9+end]
				d.pos += 9 + end + 3
				return Text, nil
			default:
				// DOCTYPE, ENTITY, ELEMENT, ATTLIST...: never.
				return EOF, &Error{Offset: d.pos, Msg: fmt.Sprintf("%v: DTDs and entity declarations are not accepted", ErrForbidden)}
			}
		default:
			return d.startTag()
		}
	}
}

// procInst skips a processing instruction, checking its target and, for the
// XML declaration, that the document claims no encoding other than UTF-8.
func (d *Decoder) procInst() error {
	start := d.pos
	d.pos += 2
	target, _, err := d.readName()
	if err != nil {
		return &Error{Offset: start, Msg: "processing instruction without a target"}
	}
	end := strings.Index(d.s[d.pos:], "?>")
	if end < 0 {
		return d.errf("unterminated processing instruction")
	}
	body := d.s[d.pos : d.pos+end]
	if j := badControl(body); j >= 0 {
		return d.badChar(d.pos + j)
	}
	d.pos += end + 2
	if len(body) > 0 && !isSpace(body[:1]) {
		return &Error{Offset: start, Msg: "bad processing instruction"}
	}
	if strings.EqualFold(target, "xml") {
		if target != "xml" || start != 0 && !(start == 3 && strings.HasPrefix(d.s, "\uFEFF")) {
			return &Error{Offset: start, Msg: "XML declaration not at the start of the document"}
		}
		if v, ok := pseudoAttr(body, "version"); ok && v != "1.0" {
			return &Error{Offset: start, Msg: fmt.Sprintf("unsupported XML version %q", v)}
		}
		if v, ok := pseudoAttr(body, "encoding"); ok && !strings.EqualFold(v, "utf-8") {
			return &Error{Offset: start, Msg: fmt.Sprintf("unsupported encoding %q: only UTF-8 is accepted", v)}
		}
	}
	return nil
}

// pseudoAttr returns the value of name="value" in an XML declaration's body.
func pseudoAttr(body, name string) (string, bool) {
	i := strings.Index(body, name)
	if i < 0 {
		return "", false
	}
	v := strings.TrimLeft(body[i+len(name):], " \t\r\n")
	if !strings.HasPrefix(v, "=") {
		return "", true
	}
	v = strings.TrimLeft(v[1:], " \t\r\n")
	if len(v) == 0 || (v[0] != '"' && v[0] != '\'') {
		return "", true
	}
	j := strings.IndexByte(v[1:], v[0])
	if j < 0 {
		return "", true
	}
	return v[1 : 1+j], true
}

func isSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}

// nameClass classes the bytes that may appear in a name (any byte of a
// multi-byte UTF-8 character included): 1 for a name character, 2 for the
// colon, 0 for anything else.
var nameClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '-' || c == '.' || c >= 0x80 {
			t[c] = 1
		}
	}
	t[':'] = 2
	return t
}()

func isNameByte(c byte) bool { return nameClass[c] != 0 }

// scanName finds the end of the name starting at s[i]: it returns the
// offset just past it and the offset of its colon within it (-1 if none, -2
// if the name is not a valid namespace-aware name: empty, more than one
// colon, nothing on one side of it, or a part starting with a digit, '-' or
// '.').
func scanName(s string, i int) (end, colon int) {
	start, seen := i, uint8(0)
	for i < len(s) {
		c := nameClass[s[i]]
		if c == 0 {
			break
		}
		seen |= c
		i++
	}
	if i == start {
		return i, -2
	}
	n := s[start:i]
	colon = -1
	if seen&2 != 0 {
		colon = strings.IndexByte(n, ':')
		if colon == 0 || colon == len(n)-1 || strings.IndexByte(n[colon+1:], ':') >= 0 || !nameStart(n[0]) {
			return i, -2
		}
	}
	if !nameStart(n[colon+1]) {
		return i, -2
	}
	return i, colon
}

// readName reads a (possibly prefixed) name at d.pos, returning it with
// the offset of its colon (-1 if none).
func (d *Decoder) readName() (string, int, error) {
	start := d.pos
	end, colon := scanName(d.s, start)
	d.pos = end
	if colon == -2 {
		if end == start {
			return "", -1, d.errf("expected a name")
		}
		return "", -1, &Error{Offset: start, Msg: fmt.Sprintf("invalid name %q", d.s[start:end])}
	}
	return d.s[start:end], colon, nil
}

func nameStart(c byte) bool {
	return !(c >= '0' && c <= '9' || c == '-' || c == '.')
}

func (d *Decoder) skipSpace() {
	s, i := d.s, d.pos
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
		i++
	}
	d.pos = i
}

// lookupNSIndex returns the index in d.ns of the binding of prefix, or -1.
func (d *Decoder) lookupNSIndex(prefix string) int {
	for i := len(d.ns) - 1; i >= 0; i-- {
		if d.ns[i].prefix == prefix {
			return i
		}
	}
	return -1
}

func (d *Decoder) lookupNS(prefix string) (string, bool) {
	for i := len(d.ns) - 1; i >= 0; i-- {
		if d.ns[i].prefix == prefix {
			return d.ns[i].uri, true
		}
	}
	return "", prefix == ""
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// startTag reads a start tag. It works on a local offset (i) and stores it
// back only where another method needs it: the hottest code in the package.
func (d *Decoder) startTag() (Kind, error) {
	if d.rootOK {
		return EOF, d.errf("content after the root element")
	}
	if d.depth >= d.lim.MaxDepth {
		return EOF, d.errf("elements nested deeper than %d", d.lim.MaxDepth)
	}
	s := d.s
	d.TokenStart = d.pos
	d.pos++ // '<'
	qname, colon, err := d.readName()
	if err != nil {
		return EOF, err
	}
	i := d.pos
	d.Attrs = d.Attrs[:0]
	hasNS := false // an xmlns or prefixed attribute is present
	for {
		sp := i
		for i < len(s) && isSpaceByte(s[i]) {
			i++
		}
		if i >= len(s) {
			d.pos = i
			return EOF, d.errf("unterminated start tag <%s", qname)
		}
		if c := s[i]; c == '>' || c == '/' {
			break
		}
		if i == sp {
			d.pos = i
			return EOF, d.errf("expected space before attribute in <%s>", qname)
		}
		nstart := i
		var acolon int
		i, acolon = scanName(s, i)
		if acolon == -2 {
			d.pos = nstart
			_, _, err := d.readName()
			return EOF, err
		}
		an := s[nstart:i]
		for i < len(s) && isSpaceByte(s[i]) {
			i++
		}
		if i >= len(s) || s[i] != '=' {
			d.pos = i
			return EOF, d.errf("attribute %s has no value", an)
		}
		i++
		for i < len(s) && isSpaceByte(s[i]) {
			i++
		}
		if i >= len(s) || (s[i] != '"' && s[i] != '\'') {
			d.pos = i
			return EOF, d.errf("attribute %s value is not quoted", an)
		}
		q := s[i]
		i++
		vstart := i
		var val string
		if j := scanAttr(s, vstart, q); j < len(s) && s[j] == q {
			val = s[vstart:j] // nothing to decode: the common case
			i = j + 1
		} else {
			end := strings.IndexByte(s[vstart:], q)
			if end < 0 {
				d.pos = i
				return EOF, d.errf("unterminated value of attribute %s", an)
			}
			raw := s[vstart : vstart+end]
			i = vstart + end + 1
			if val, err = attrValue(raw, vstart); err != nil {
				return EOF, fmt.Errorf("%w (attribute %s)", err, an)
			}
		}
		n := len(d.Attrs)
		if n >= d.lim.MaxAttrs {
			d.pos = i
			return EOF, d.errf("more than %d attributes on <%s>", d.lim.MaxAttrs, qname)
		}
		// Fill the new attribute in place: building it on the stack and
		// copying it costs a store-forwarding stall per attribute.
		if n == cap(d.Attrs) {
			d.Attrs = append(d.Attrs, Attr{})
		} else {
			d.Attrs = d.Attrs[:n+1]
		}
		// The slot is reused: leave the (usually empty) Space and Prefix
		// alone when they already hold what is wanted, which spares a GC
		// write barrier per field while a collection is marking.
		a := &d.Attrs[n]
		a.Value = val
		if a.Name.Space != "" {
			a.Name.Space = ""
		}
		if acolon > 0 {
			a.Name.Prefix, a.Name.Local = an[:acolon], an[acolon+1:]
			hasNS = true
		} else {
			if a.Name.Prefix != "" {
				a.Name.Prefix = ""
			}
			a.Name.Local = an
			if an == "xmlns" {
				hasNS = true
			}
		}
	}
	selfClose := false
	if s[i] == '/' {
		if i+1 >= len(s) || s[i+1] != '>' {
			d.pos = i
			return EOF, d.errf("expected '/>' in <%s>", qname)
		}
		selfClose = true
		i += 2
	} else {
		i++ // '>'
	}
	d.pos = i

	// Namespace declarations first, then resolve names.
	if hasNS {
		if err := d.declareAndResolve(); err != nil {
			return EOF, err
		}
	}
	// Duplicate attributes (by resolved name).
	for i := 1; i < len(d.Attrs); i++ {
		ai := &d.Attrs[i]
		for j := 0; j < i; j++ {
			aj := &d.Attrs[j]
			if ai.Name.Local == aj.Name.Local && ai.Name.Space == aj.Name.Space &&
				(ai.Name.Space != XMLNS || ai.Name.Prefix == aj.Name.Prefix) {
				return EOF, d.errf("duplicate attribute %s on <%s>", ai.Name.Local, qname)
			}
		}
	}
	prefix, local := "", qname
	if colon > 0 {
		prefix, local = qname[:colon], qname[colon+1:]
	}
	nsi := d.lookupNSIndex(prefix)
	uri := ""
	if nsi >= 0 {
		uri = d.ns[nsi].uri
	} else if prefix != "" {
		return EOF, d.errf("undeclared namespace prefix %q on <%s>", prefix, qname)
	}
	setName(&d.Name, uri, local, prefix)
	n := len(d.stack)
	if n == cap(d.stack) {
		d.stack = append(d.stack, open{})
	} else {
		d.stack = d.stack[:n+1]
	}
	top := &d.stack[n]
	nstart := d.TokenStart + 1
	top.start, top.end, top.colon, top.ns = int32(nstart), int32(nstart+len(qname)), int32(colon), int32(nsi)
	d.depth++
	d.seen = true
	d.selfClose = selfClose
	return StartElement, nil
}

// declareAndResolve records the namespace declarations among d.Attrs and
// resolves the prefixes of the other attributes.
func (d *Decoder) declareAndResolve() error {
	depth := d.depth
	for i := range d.Attrs {
		a := &d.Attrs[i]
		switch {
		case a.Name.Prefix == "" && a.Name.Local == "xmlns":
			d.ns = append(d.ns, nsBinding{prefix: "", uri: d.intern(a.Value), depth: depth})
			a.Name.Space = XMLNS
		case a.Name.Prefix == "xmlns":
			if a.Value == "" {
				return d.errf("empty namespace for prefix %s", a.Name.Local)
			}
			d.ns = append(d.ns, nsBinding{prefix: a.Name.Local, uri: d.intern(a.Value), depth: depth})
			a.Name.Space = XMLNS
		}
	}
	for i := range d.Attrs {
		a := &d.Attrs[i]
		if a.Name.Space == XMLNS || a.Name.Prefix == "" {
			continue
		}
		uri, ok := d.lookupNS(a.Name.Prefix)
		if !ok {
			return d.errf("undeclared namespace prefix %q on attribute %s", a.Name.Prefix, a.Name.Local)
		}
		a.Name.Space = uri
	}
	return nil
}

// intern returns the URI of a binding in scope equal to uri, if there is
// one, so that elements in the same namespace carry the same string and
// comparing their Space costs a pointer comparison.
func (d *Decoder) intern(uri string) string {
	for i := len(d.ns) - 1; i >= 0; i-- {
		if d.ns[i].uri == uri {
			return d.ns[i].uri
		}
	}
	return uri
}

func (d *Decoder) endTag() (Kind, error) {
	d.TokenStart = d.pos
	d.pos += 2
	if d.depth == 0 {
		qname, _, err := d.readName()
		if err != nil {
			return EOF, err
		}
		return EOF, d.errf("end tag </%s> without a start tag", qname)
	}
	// The end tag must repeat the open element's name exactly: compare the
	// bytes rather than reading a name.
	o := &d.stack[len(d.stack)-1]
	s := d.s
	top := s[o.start:o.end]
	if p := d.pos + len(top); p <= len(s) && s[d.pos:p] == top && (p == len(s) || !isNameByte(s[p])) {
		d.pos = p
	} else {
		qname, _, err := d.readName()
		if err != nil {
			return EOF, err
		}
		return EOF, d.errf("end tag </%s> does not match <%s>", qname, top)
	}
	if d.pos < len(s) && s[d.pos] != '>' {
		d.skipSpace()
	}
	if d.pos >= len(s) || s[d.pos] != '>' {
		return EOF, d.errf("unterminated end tag </%s", top)
	}
	d.pos++
	return d.end()
}

// setName sets n, skipping the fields that already hold the value (the
// namespace and prefix rarely change from one element to the next, and
// namespaces are interned): each store saved is a GC write barrier saved.
func setName(n *Name, space, local, prefix string) {
	if n.Space != space { // interned: usually the same pointer, compared at once
		n.Space = space
	}
	n.Local = local
	if n.Prefix != prefix {
		n.Prefix = prefix
	}
}

// end pops the current element.
func (d *Decoder) end() (Kind, error) {
	top := &d.stack[len(d.stack)-1]
	qname := d.s[top.start:top.end]
	space := ""
	if top.ns >= 0 {
		space = d.ns[top.ns].uri
	}
	if top.colon > 0 {
		setName(&d.Name, space, qname[top.colon+1:], qname[:top.colon])
	} else {
		setName(&d.Name, space, qname, "")
	}
	d.stack = d.stack[:len(d.stack)-1]
	d.depth--
	for n := len(d.ns); n > 1 && d.ns[n-1].depth >= d.depth; n-- {
		d.ns = d.ns[:n-1]
	}
	if d.depth == 0 {
		d.rootOK = true
	}
	return EndElement, nil
}

// Skip consumes the rest of the element whose start tag was just read,
// including its end tag. It returns the offset just past the end tag.
func (d *Decoder) Skip() (int, error) {
	target := d.depth - 1
	for {
		k, err := d.Next()
		if err != nil {
			return 0, err
		}
		if k == EOF {
			return 0, d.errf("unexpected end of document")
		}
		if k == EndElement && d.depth == target {
			return d.pos, nil
		}
	}
}

// InScope returns the namespace bindings in scope (innermost last), for
// callers that cut a subtree out of the document and must keep it valid.
func (d *Decoder) InScope() map[string]string {
	m := make(map[string]string, len(d.ns))
	for _, b := range d.ns {
		if b.depth >= 0 {
			m[b.prefix] = b.uri
		}
	}
	return m
}

// attrValue decodes an attribute value that holds references, white space
// to normalise or characters to refuse.
func attrValue(raw string, offset int) (string, error) {
	special := attrSpecial(raw)
	if special&hasLT != 0 {
		return "", &Error{Offset: offset + strings.IndexByte(raw, '<'), Msg: "'<' in an attribute value"}
	}
	val, err := unescape(raw, offset)
	if err != nil {
		return "", err
	}
	if special&hasWS != 0 {
		val = normalizeAttr(val, raw)
	}
	return val, nil
}

const (
	hasLT = 1 << iota
	hasAmp
	hasWS
)

// attrSpecial reports what in an attribute value needs attention ('<', '&',
// literal tabs and line ends).
func attrSpecial(s string) int {
	f := 0
	for i := 0; i < len(s); i++ {
		f |= int(attrClass[s[i]])
	}
	return f
}

var attrClass = [256]uint8{'<': hasLT, '&': hasAmp, '\t': hasWS, '\n': hasWS, '\r': hasWS}

// normalizeAttr applies XML attribute-value normalisation for literal
// whitespace characters (tab, CR, LF become spaces); character references
// keep the character they name. It returns val unchanged when raw has none.
func normalizeAttr(val, raw string) string {
	if !strings.ContainsAny(raw, "\t\r\n") {
		return val
	}
	if strings.IndexByte(raw, '&') < 0 {
		return strings.Map(func(r rune) rune {
			if r == '\t' || r == '\r' || r == '\n' {
				return ' '
			}
			return r
		}, strings.ReplaceAll(raw, "\r\n", "\n"))
	}
	// Mixed literal whitespace and references: normalise the literal parts only.
	var b strings.Builder
	raw = strings.ReplaceAll(raw, "\r\n", "\n")
	for len(raw) > 0 {
		i := strings.IndexByte(raw, '&')
		if i < 0 {
			i = len(raw)
		}
		for _, c := range []byte(raw[:i]) {
			if c == '\t' || c == '\r' || c == '\n' {
				c = ' '
			}
			b.WriteByte(c)
		}
		raw = raw[i:]
		if len(raw) == 0 {
			break
		}
		j := strings.IndexByte(raw, ';')
		ref, _ := unescape(raw[:j+1], 0)
		b.WriteString(ref)
		raw = raw[j+1:]
	}
	return b.String()
}

// unescape decodes the predefined entities and character references in s.
// Line ends are normalised to \n as XML requires.
func unescape(s string, offset int) (string, error) {
	if !textSpecial(s) {
		return s, nil
	}
	if j := badControl(s); j >= 0 {
		return "", &Error{Offset: offset + j, Msg: "invalid UTF-8 or a character XML does not allow"}
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' {
			b.WriteByte('\n')
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			continue
		}
		if c != '&' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i:], ';')
		if end < 0 || end > 12 {
			return "", &Error{Offset: offset + i, Msg: "unterminated entity or character reference"}
		}
		ref := s[i+1 : i+end]
		switch ref {
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "amp":
			b.WriteByte('&')
		case "quot":
			b.WriteByte('"')
		case "apos":
			b.WriteByte('\'')
		default:
			r, ok := charRef(ref)
			if !ok {
				return "", &Error{Offset: offset + i, Msg: fmt.Sprintf("%v: unknown entity &%s;", ErrForbidden, ref)}
			}
			b.WriteRune(r)
		}
		i += end
	}
	return b.String(), nil
}

func charRef(ref string) (rune, bool) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	base, digits := 10, ref[1:]
	if digits[0] == 'x' {
		base, digits = 16, digits[1:]
	}
	if digits == "" {
		return 0, false
	}
	var n rune
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		var v rune
		switch {
		case c >= '0' && c <= '9':
			v = rune(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			v = rune(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			v = rune(c-'A') + 10
		default:
			return 0, false
		}
		n = n*rune(base) + v
		if n > utf8.MaxRune {
			return 0, false
		}
	}
	// XML 1.0 Char production.
	if n == 0x9 || n == 0xA || n == 0xD || (n >= 0x20 && n <= 0xD7FF) || (n >= 0xE000 && n <= 0xFFFD) || (n >= 0x10000 && n <= 0x10FFFF) {
		return n, true
	}
	return 0, false
}
