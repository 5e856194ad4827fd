package xmlt

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openeps/openeps/internal/testutil"
)

// tokens renders a token stream in a form both decoders can produce.
func tokens(d *Decoder) ([]string, error) {
	var out []string
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			out = append(out, "T:"+text.String())
			text.Reset()
		}
	}
	for {
		k, err := d.Next()
		if err != nil {
			return out, err
		}
		switch k {
		case EOF:
			flush()
			return out, nil
		case StartElement:
			flush()
			s := "S:{" + d.Name.Space + "}" + d.Name.Local
			for _, a := range d.Attrs {
				if a.Name.Space == XMLNS {
					continue
				}
				s += fmt.Sprintf(" {%s}%s=%q", a.Name.Space, a.Name.Local, wsToSpace(a.Value))
			}
			out = append(out, s)
		case EndElement:
			flush()
			out = append(out, "E:{"+d.Name.Space+"}"+d.Name.Local)
		case Text:
			text.WriteString(d.Text)
		}
	}
}

// wsToSpace maps the white space that attribute normalisation turns into
// spaces (encoding/xml does not normalise; xmlt does, as XML 1.0 requires).
func wsToSpace(s string) string {
	return strings.NewReplacer("\r\n", " ", "\t", " ", "\n", " ", "\r", " ").Replace(s)
}

func stdTokens(b []byte) ([]string, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	var out []string
	var text strings.Builder
	depth := 0
	flush := func() {
		if text.Len() > 0 {
			if depth > 0 {
				out = append(out, "T:"+text.String())
			}
			text.Reset()
		}
	}
	for {
		t, err := d.Token()
		if err == io.EOF {
			flush()
			return out, nil
		}
		if err != nil {
			return out, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			flush()
			depth++
			s := "S:{" + t.Name.Space + "}" + t.Name.Local
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				s += fmt.Sprintf(" {%s}%s=%q", a.Name.Space, a.Name.Local, wsToSpace(a.Value))
			}
			out = append(out, s)
		case xml.EndElement:
			flush()
			depth--
			out = append(out, "E:{"+t.Name.Space+"}"+t.Name.Local)
		case xml.CharData:
			if depth > 0 {
				text.Write(t)
			}
		}
	}
}

// TestAgreesWithEncodingXML runs every XML fixture through both decoders and
// compares the token streams (names resolved to namespaces, attribute values,
// text).
func TestAgreesWithEncodingXML(t *testing.T) {
	root := testutil.Fixtures(t, "hl7v3")
	n := 0
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.EqualFold(filepath.Ext(path), ".xml") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		want, werr := stdTokens(b)
		got, gerr := tokens(NewDecoder(b, Limits{MaxBytes: 64 << 20}))
		rel, _ := filepath.Rel(root, path)
		if (werr == nil) != (gerr == nil) {
			// encoding/xml accepts DTDs; we refuse them. Nothing else may differ.
			if !(gerr != nil && errors.Is(gerr, ErrForbidden)) && !strings.Contains(fmt.Sprint(gerr), "forbidden") {
				t.Errorf("%s: encoding/xml err=%v, xmlt err=%v", rel, werr, gerr)
			}
			return nil
		}
		if werr != nil {
			return nil
		}
		n++
		if len(got) != len(want) {
			t.Errorf("%s: %d tokens, encoding/xml has %d", rel, len(got), len(want))
			return nil
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: token %d = %s, encoding/xml has %s", rel, i, got[i], want[i])
				return nil
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 350 {
		t.Errorf("only %d fixtures compared", n)
	}
}

func TestHostileInput(t *testing.T) {
	deep := strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100)
	cases := map[string]string{
		"doctype":          `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>`,
		"billion laughs":   `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>`,
		"unknown entity":   `<a>&x;</a>`,
		"deep":             deep,
		"unclosed":         `<a><b></a>`,
		"two roots":        `<a/><b/>`,
		"text after root":  `<a/>x`,
		"bad utf8":         "<a>\xff</a>",
		"dup attr":         `<a x="1" x="2"/>`,
		"undeclared":       `<p:a/>`,
		"lt in attr":       `<a x="<"/>`,
		"unquoted":         `<a x=1/>`,
		"empty":            ``,
		"only decl":        `<?xml version="1.0"?>`,
		"bad char ref":     `<a>&#0;</a>`,
		"huge char ref":    `<a>&#x110000;</a>`,
		"end without open": `</a>`,
		"truncated":        `<a><b x="1"`,
	}
	for name, doc := range cases {
		d := NewDecoder([]byte(doc), Limits{MaxDepth: 64})
		_, err := tokens(d)
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := tokens(NewDecoder([]byte("<a>"+strings.Repeat("x", 100)+"</a>"), Limits{MaxBytes: 50})); err == nil {
		t.Error("size limit not enforced")
	}
	many := "<a"
	for i := 0; i < 100; i++ {
		many += fmt.Sprintf(" a%d=\"1\"", i)
	}
	if _, err := tokens(NewDecoder([]byte(many+"/>"), Limits{})); err == nil {
		t.Error("attribute limit not enforced")
	}
}

func TestEscapingRoundTrip(t *testing.T) {
	for _, s := range []string{"a&b<c>d\"e'f", "tab\tnl\ncr\rend", "£ café ✓ 𝄞", "]]>"} {
		doc := `<a x="` + string(AppendEscapedAttr(nil, s)) + `">` + string(AppendEscapedText(nil, s)) + `</a>`
		d := NewDecoder([]byte(doc), Limits{})
		if k, err := d.Next(); err != nil || k != StartElement {
			t.Fatal(k, err)
		}
		if got := d.Attrs[0].Value; got != s {
			t.Errorf("attr %q -> %q", s, got)
		}
		var text string
		for {
			k, err := d.Next()
			if err != nil {
				t.Fatal(err)
			}
			if k != Text {
				break
			}
			text += d.Text
		}
		if text != s {
			t.Errorf("text %q -> %q", s, text)
		}
	}
}

func FuzzDecoder(f *testing.F) {
	for _, p := range testutil.Glob(f, "hl7v3/*.xml") {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte(`<a xmlns="u" xmlns:p="v"><p:b p:c="&amp;&#x41;"/><![CDATA[x]]></a>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := tokens(NewDecoder(b, Limits{}))
		if err != nil {
			return
		}
		// Whatever we accept, encoding/xml must accept and read the same way.
		want, werr := stdTokens(b)
		if werr != nil {
			t.Fatalf("xmlt accepted a document encoding/xml rejects (%v): %.300q", werr, b)
		}
		for i := 0; i < len(got) || i < len(want); i++ {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Fatalf("token %d differs: xmlt %.200q, encoding/xml %.200q", i, g, w)
			}
		}
	})
}

// TestSkipSpace: with SkipSpace set, white space between elements makes no
// token; text with anything else in it comes whole, leading space included;
// the setting can change from one token to the next.
func TestSkipSpace(t *testing.T) {
	doc := "<a>\n  <b> x </b>\n  <c>  </c>\n</a>"
	d := NewDecoder([]byte(doc), Limits{})
	d.SkipSpace = true
	var got []string
	for {
		if d.Depth() == 2 && d.Name.Local == "c" {
			d.SkipSpace = false // keep c's white space
		}
		k, err := d.Next()
		if err != nil {
			t.Fatal(err)
		}
		if k == EOF {
			break
		}
		switch k {
		case StartElement:
			got = append(got, "<"+d.Name.Local)
		case EndElement:
			got = append(got, "/"+d.Name.Local)
			d.SkipSpace = true
		case Text:
			got = append(got, fmt.Sprintf("%q", d.Text))
		}
	}
	want := `<a <b " x " /b <c "  " /c /a`
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
}

// TestControlCharactersRefused: the characters XML does not allow are
// refused wherever they appear (text, attribute values, comments, CDATA,
// processing instructions), and U+FFFE / U+FFFF too.
func TestControlCharactersRefused(t *testing.T) {
	for _, doc := range []string{
		"<a>\x01</a>", "<a x=\"\x02\"/>", "<a><!-- \x03 --></a>", "<a><![CDATA[\x04]]></a>", "<?pi \x05?><a/>",
		"<a>\uFFFE</a>", "<a x=\"\uFFFF\"/>", "<a>a&amp;\x06</a>", "<a x=\"&amp;\x07\"/>",
	} {
		d := NewDecoder([]byte(doc), Limits{})
		d.SkipSpace = true
		if _, err := tokens(d); err == nil {
			t.Errorf("%q accepted", doc)
		}
	}
	// Tab, line feed and carriage return are allowed.
	if _, err := tokens(NewDecoder([]byte("<a x=\"\t\r\n\">\t\r\n</a>"), Limits{})); err != nil {
		t.Error(err)
	}
}

// TestEscapingIsCanonical holds the encoder's escaping to exactly what
// Canonical XML (and exclusive C14N) writes, which internal/signature relies
// on to digest prescriptions: text escapes &, <, > and CR; attribute values
// &, <, ", tab, LF and CR; nothing else.
func TestEscapingIsCanonical(t *testing.T) {
	in := "a&b<c>d\"e'f\tg\nh\ri]]>é"
	if got, want := string(AppendEscapedText(nil, in)), "a&amp;b&lt;c&gt;d\"e'f\tg\nh&#xD;i]]&gt;é"; got != want {
		t.Errorf("text: %q, want %q", got, want)
	}
	if got, want := string(AppendEscapedAttr(nil, in)), "a&amp;b&lt;c>d&quot;e'f&#x9;g&#xA;h&#xD;i]]>é"; got != want {
		t.Errorf("attribute: %q, want %q", got, want)
	}
}
