package signature

import (
	"bytes"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	goxmldsig "github.com/russellhaering/goxmldsig"

	"github.com/openeps/openeps/internal/testutil"
)

// The EPS's own sample: a FragmentsToBeHashed document and the exact bytes
// its canonicalisation gives (the file ends with a newline the canonical form
// does not have).
func TestCanonicalSample(t *testing.T) {
	tr, err := parse(testutil.ReadFixture(t, "hl7v3", "FragmentsToBeHashed-sample.xml"))
	if err != nil {
		t.Fatal(err)
	}
	c := canonicaliser{t: tr}
	c.writeElement(0, 0)
	want := bytes.TrimSuffix(testutil.ReadFixture(t, "hl7v3", "FragmentsToBeHashed-sample-canonicalized.txt"), []byte("\n"))
	if !bytes.Equal(c.buf, want) {
		t.Errorf("canonical form differs at byte %d\n got %q\nwant %q", firstDiff(c.buf, want), around(c.buf, firstDiff(c.buf, want)), around(want, firstDiff(c.buf, want)))
	}
}

// signedPrescriptionFiles are all the fixtures that carry a ParentPrescription with a signature skeleton.
func signedPrescriptionFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	files = append(files, testutil.Glob(t, "hl7v3/eps-api/packages/coordinator/tests/resources/signed-prescriptions/*.xml")...)
	files = append(files, testutil.Glob(t, "hl7v3/PORX_IN020101UK31-*.xml")...)
	files = append(files, testutil.Glob(t, "hl7v3/PORX_IN070101UK31-*.xml")...)
	root := testutil.Fixtures(t, "hl7v3", "eps-api", "examples")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, "-Send-200_OK.xml") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// A differential test: for every prescription in the fixtures, the
// FragmentsToBeHashed bytes must equal what an independent implementation
// gives — the fragments cut out with etree, per the EPS's rules, and
// canonicalised by goxmldsig's exclusive canonicaliser.
func TestFragmentsMatchReferenceCanonicaliser(t *testing.T) {
	n := 0
	for _, f := range signedPrescriptionFiles(t) {
		raw := testutil.ReadFixture(t, strings.TrimPrefix(f, testutil.Fixtures(t)+"/"))
		tr, err := parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(raw); err != nil {
			t.Fatalf("%s: etree: %v", f, err)
		}
		pps := tr.findAll("ParentPrescription")
		epps := doc.FindElements("//ParentPrescription")
		if len(pps) != len(epps) {
			t.Fatalf("%s: %d prescriptions, etree finds %d", f, len(pps), len(epps))
		}
		for k, pp := range pps {
			p, err := locate(tr, pp)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			got := p.fragments(tr, nil)
			want := referenceFragments(t, epps[k])
			if !bytes.Equal(got, want) {
				i := firstDiff(got, want)
				t.Errorf("%s #%d: fragments differ at byte %d\n ours %q\n ref  %q", f, k, i, around(got, i), around(want, i))
			}
			n++
		}
	}
	t.Logf("%d prescriptions compared", n)
}

// referenceFragments builds FragmentsToBeHashed the straightforward way.
func referenceFragments(t *testing.T, pp *etree.Element) []byte {
	t.Helper()
	presc := pp.FindElement("./pertinentInformation1/pertinentPrescription")
	author := presc.SelectElement("author")
	doc := etree.NewDocument()
	root := doc.CreateElement("FragmentsToBeHashed")
	frag := func(els ...*etree.Element) {
		f := root.CreateElement("Fragment")
		for _, e := range els {
			c := e.Copy()
			c.Space = ""
			c.CreateAttr("xmlns", nsHL7)
			dropSpace(c)
			f.AddChild(c)
		}
	}
	frag(author.SelectElement("time"), presc.SelectElement("id"))
	frag(author.SelectElement("AgentPerson"))
	frag(pp.SelectElement("recordTarget"))
	for _, pi2 := range presc.SelectElements("pertinentInformation2") {
		li := pi2.SelectElement("pertinentLineItem").Copy()
		for _, s := range li.SelectElements("pertinentInformation4") {
			li.RemoveChild(s)
		}
		if rn := li.SelectElement("repeatNumber"); rn != nil {
			rn.Attr = nil
			for _, low := range rn.SelectElements("low") {
				rn.RemoveChild(low)
			}
		}
		frag(li)
	}
	out, err := goxmldsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func dropSpace(e *etree.Element) {
	for _, tok := range append([]etree.Token(nil), e.Child...) {
		switch x := tok.(type) {
		case *etree.CharData:
			if strings.TrimSpace(x.Data) == "" {
				e.RemoveChild(x)
			}
		case *etree.Element:
			dropSpace(x)
		case *etree.Comment:
			e.RemoveChild(x)
		}
	}
}

// The EPS's xml-js round trip, reproduced on small documents.
func TestCanonicalEPSQuirks(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"whitespace between elements goes, text stays",
			"<a>\n  <b> x </b>\n  <c>  </c>\n</a>",
			`<a xmlns="urn:hl7-org:v3"><b> x </b><c></c></a>`},
		{"children grouped by name where each name first appears",
			"<a><b i='1'/><c/><b i='2'/>t<d/></a>",
			`<a xmlns="urn:hl7-org:v3"><b i="1"></b><b i="2"></b><c></c>t<d></d></a>`},
		{"attributes sorted",
			`<a z="1" b="2" a="3"/>`,
			`<a xmlns="urn:hl7-org:v3" a="3" b="2" z="1"></a>`},
		{"tab runs and line ends in attribute values become single spaces",
			`<a v="x&#9;&#9;y&#10;z&#13;&#10;w"/>`,
			`<a xmlns="urn:hl7-org:v3" v="x y z w"></a>`},
		{"a lone CR in an attribute is kept, escaped",
			`<a v="x&#13;y"/>`,
			`<a xmlns="urn:hl7-org:v3" v="x&#xD;y"></a>`},
		{"text escaping",
			`<a>&lt;b&gt; &amp; "q" 'a'&#13;</a>`,
			`<a xmlns="urn:hl7-org:v3">&lt;b&gt; &amp; "q" 'a'&#xD;</a>`},
		{"attribute escaping",
			`<a v="&quot;&lt;&amp;&gt;'"/>`,
			`<a xmlns="urn:hl7-org:v3" v="&quot;&lt;&amp;>'"></a>`},
		{"HL7 prefix written as the default namespace",
			`<hl7:a xmlns:hl7="urn:hl7-org:v3"><hl7:b x="1"/></hl7:a>`,
			`<a xmlns="urn:hl7-org:v3"><b x="1"></b></a>`},
		{"no namespace is HL7",
			`<a><b x="1"/></a>`,
			`<a xmlns="urn:hl7-org:v3"><b x="1"></b></a>`},
		{"a foreign attribute namespace is declared where used, after the default",
			`<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:u="urn:unused"><b xsi:type="CV" code="1"/></a>`,
			`<a xmlns="urn:hl7-org:v3"><b xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" code="1" xsi:type="CV"></b></a>`},
		{"a foreign element keeps its prefix; HL7 children under it",
			`<a xmlns:f="urn:foreign"><f:x><b/></f:x></a>`,
			`<a xmlns="urn:hl7-org:v3"><f:x xmlns:f="urn:foreign"><b></b></f:x></a>`},
		{"a foreign default namespace, then HL7 again",
			`<a><x xmlns="urn:foreign"><y xmlns="urn:hl7-org:v3"/></x></a>`,
			`<a xmlns="urn:hl7-org:v3"><x xmlns="urn:foreign"><y xmlns="urn:hl7-org:v3"></y></x></a>`},
		{"comments and CDATA",
			`<a>x<!-- c -->y<![CDATA[<z>]]></a>`,
			`<a xmlns="urn:hl7-org:v3">xy&lt;z&gt;</a>`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := parse([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			cw := canonicaliser{t: tr, epsMode: true}
			cw.writeElement(0, 0)
			if got := string(cw.buf); got != c.want {
				t.Errorf("\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

// SignedInfo in its two readings: as the EPS signs it (white space between
// elements dropped) and as XML-DSig defines it.
func TestCanonicalSignedInfoReadings(t *testing.T) {
	in := "<Signature xmlns=\"" + nsDSig + "\"><SignedInfo>\n  <CanonicalizationMethod Algorithm=\"" + AlgExcC14N + "\"/>\n</SignedInfo></Signature>"
	tr, err := parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	d := &dsig{signedInfo: tr.dsigChildren(0, "SignedInfo")[0]}
	eps := string(d.canonicalSignedInfo(tr, true, nil))
	strict := string(d.canonicalSignedInfo(tr, false, nil))
	wantEPS := `<SignedInfo xmlns="` + nsDSig + `"><CanonicalizationMethod Algorithm="` + AlgExcC14N + `"></CanonicalizationMethod></SignedInfo>`
	wantStrict := "<SignedInfo xmlns=\"" + nsDSig + "\">\n  <CanonicalizationMethod Algorithm=\"" + AlgExcC14N + "\"></CanonicalizationMethod>\n</SignedInfo>"
	if eps != wantEPS {
		t.Errorf("EPS reading\n got %s\nwant %s", eps, wantEPS)
	}
	if strict != wantStrict {
		t.Errorf("strict reading\n got %q\nwant %q", strict, wantStrict)
	}
	if !d.hasSpace(tr) {
		t.Error("hasSpace = false")
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func around(b []byte, i int) string {
	lo, hi := max(0, i-60), min(len(b), i+60)
	return string(b[lo:hi])
}

// More differently named children than the fast path tracks: the grouping
// still comes out right (and in linear time, whatever the input).
func TestCanonicalGroupingManyNames(t *testing.T) {
	var in, want strings.Builder
	in.WriteString("<a>")
	want.WriteString(`<a xmlns="urn:hl7-org:v3">`)
	for k := range 40 {
		fmt.Fprintf(&in, "<x%d/>", k)
	}
	in.WriteString("<x0 i='2'/></a>")
	want.WriteString(`<x0></x0><x0 i="2"></x0>`)
	for k := 1; k < 40; k++ {
		fmt.Fprintf(&want, "<x%d></x%d>", k, k)
	}
	want.WriteString("</a>")
	tr := mustParse(t, []byte(in.String()))
	c := canonicaliser{t: tr, epsMode: true}
	c.writeElement(0, 0)
	if string(c.buf) != want.String() {
		t.Errorf("\n got %s\nwant %s", c.buf, want.String())
	}
}
