package ebxml

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/openeps/openeps/internal/testutil"
	"github.com/openeps/openeps/internal/xmlt"
)

// multipartCT is the Content-Type the MHS adaptor's own tests give its
// test messages (which are stored without HTTP headers).
const multipartCT = `multipart/related; boundary="--=_MIME-Boundary"`

const (
	mhsTestMessages = "ebxml/mhs-adaptor/mhs/common/mhs_common/messages/tests/test_messages"
	mhsExpected     = "ebxml/mhs-adaptor/mhs/common/mhs_common/messages/tests/expected_messages"
	mhsInbound      = "ebxml/mhs-adaptor/mhs/inbound/inbound/request/tests/messages"
	mhsErrors       = "ebxml/mhs-adaptor/mhs/common/mhs_common/errors/tests/test_messages"
	fakeSpine       = "ebxml/mhs-adaptor/integration-tests/fake_spine/fake_spine/configured_responses"
	epsClient       = "ebxml/eps-fhir-api-client"
	spineResponses  = "hl7v3/eps-api/packages/coordinator/tests/resources/spine-responses"
)

// fixture reads a fixture; a .msg with an .ebxml beside it gets the
// envelope substituted for its {{ebxml}} placeholder, as the MHS adaptor's
// load_test_data does.
func fixture(tb testing.TB, rel string) []byte {
	tb.Helper()
	b := testutil.ReadFixture(tb, rel)
	if strings.HasSuffix(rel, ".msg") {
		if eb, err := os.ReadFile(testutil.Fixtures(tb, strings.TrimSuffix(rel, ".msg")+".ebxml")); err == nil {
			b = bytes.ReplaceAll(b, []byte("{{ebxml}}"), eb)
		}
	}
	return b
}

// capture reads an .http capture of the EPS FHIR API client.
func capture(tb testing.TB, name string) (*File, []byte) {
	tb.Helper()
	raw := testutil.ReadFixture(tb, filepath.Join(epsClient, name))
	f, err := ReadFile(raw)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return f, raw
}

// xnode is an XML element reduced to what a structural comparison looks at:
// names by namespace, attributes by namespace (declarations ignored), the
// element's own text trimmed, children in order.
type xnode struct {
	name  string
	attrs map[string]string
	text  string
	kids  []*xnode
}

func qname(n xmlt.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return "{" + n.Space + "}" + n.Local
}

func xmlTree(tb testing.TB, b []byte) *xnode {
	tb.Helper()
	d := xmlt.NewDecoder(b, xmlt.Limits{})
	var stack []*xnode
	var root *xnode
	texts := map[*xnode]*strings.Builder{}
	for {
		k, err := d.Next()
		if err != nil {
			tb.Fatalf("xml: %v\n%s", err, truncate(string(b), 400))
		}
		switch k {
		case xmlt.StartElement:
			n := &xnode{name: qname(d.Name), attrs: map[string]string{}}
			for _, a := range d.Attrs {
				if a.Name.Space != xmlt.XMLNS {
					n.attrs[qname(a.Name)] = a.Value
				}
			}
			texts[n] = &strings.Builder{}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xmlt.EndElement:
			n := stack[len(stack)-1]
			n.text = strings.TrimSpace(texts[n].String())
			stack = stack[:len(stack)-1]
		case xmlt.Text:
			texts[stack[len(stack)-1]].WriteString(d.Text)
		case xmlt.EOF:
			return root
		}
	}
}

// xmlDiff lists the differences between two trees; ignore names attributes
// (as "{space}local") left out of the comparison.
func xmlDiff(want, got *xnode, ignore ...string) []string {
	skip := map[string]bool{}
	for _, i := range ignore {
		skip[i] = true
	}
	var out []string
	var walk func(path string, a, b *xnode)
	walk = func(path string, a, b *xnode) {
		path += "/" + a.name
		if a.name != b.name {
			out = append(out, fmt.Sprintf("%s: element %s, got %s", path, a.name, b.name))
			return
		}
		keys := map[string]bool{}
		for k := range a.attrs {
			keys[k] = true
		}
		for k := range b.attrs {
			keys[k] = true
		}
		var sorted []string
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			if skip[k] {
				continue
			}
			av, aok := a.attrs[k]
			bv, bok := b.attrs[k]
			if av != bv || aok != bok {
				out = append(out, fmt.Sprintf("%s/@%s: want %q (%v), got %q (%v)", path, k, av, aok, bv, bok))
			}
		}
		if a.text != b.text {
			out = append(out, fmt.Sprintf("%s: text %q, got %q", path, a.text, b.text))
		}
		for i := 0; i < len(a.kids) || i < len(b.kids); i++ {
			switch {
			case i >= len(b.kids):
				out = append(out, fmt.Sprintf("%s: missing child %s", path, a.kids[i].name))
			case i >= len(a.kids):
				out = append(out, fmt.Sprintf("%s: extra child %s", path, b.kids[i].name))
			default:
				walk(path, a.kids[i], b.kids[i])
			}
		}
	}
	walk("", want, got)
	return out
}

func assertSameXML(t *testing.T, what string, want, got []byte, ignore ...string) {
	t.Helper()
	if d := xmlDiff(xmlTree(t, want), xmlTree(t, got), ignore...); len(d) > 0 {
		t.Errorf("%s differs structurally:\n  %s\n--- got:\n%s", what, strings.Join(d, "\n  "), got)
	}
}

// mimeParts splits a multipart body for comparison.
func mimeParts(tb testing.TB, ct string, body []byte) []*part {
	tb.Helper()
	mt, params := parseContentType(ct)
	if mt == "" {
		_, params = sniff(body)
	}
	parts, err := splitMultipart(body, params["boundary"], Limits{}.withDefaults(), func(string) {})
	if err != nil {
		tb.Fatalf("split: %v", err)
	}
	return parts
}

// assertSameMIME compares two multipart messages part by part: the same
// Content-Id, Content-Type and Content-Transfer-Encoding, XML bodies equal
// structurally, other bodies equal after line-end normalisation.
func assertSameMIME(t *testing.T, wantCT string, want []byte, gotCT string, got []byte) {
	t.Helper()
	wp, gp := mimeParts(t, wantCT, want), mimeParts(t, gotCT, got)
	if len(wp) != len(gp) {
		t.Fatalf("%d MIME parts, want %d:\n%s", len(gp), len(wp), got)
	}
	for i := range wp {
		w, g := wp[i], gp[i]
		for _, h := range []string{"Content-Id", "Content-Type", "Content-Transfer-Encoding"} {
			if w.get(h) != g.get(h) {
				t.Errorf("part %d %s: %q, want %q", i+1, h, g.get(h), w.get(h))
			}
		}
		if isXMLMediaType(mediaTypeOf(w.contentType)) {
			assertSameXML(t, fmt.Sprintf("part %d", i+1), w.raw, g.raw)
			continue
		}
		norm := func(b []byte) string {
			return strings.TrimRight(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
		}
		if norm(w.raw) != norm(g.raw) {
			t.Errorf("part %d body %q, want %q", i+1, g.raw, w.raw)
		}
	}
}
