package hl7v3

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/openeps/openeps/internal/testutil"
	"github.com/openeps/openeps/internal/xmlt"
)

// A fixture document: a whole interaction or a payload, as found in a file
// or cut out of a SOAP / ebXML MIME capture.
type fixtureDoc struct {
	rel     string // path under fixtures/hl7v3 (with "#hl7" when cut out of a capture)
	data    []byte
	payload bool // a payload document (root ParentPrescription, DispenseNotification, …)
}

var (
	fixtureOnce sync.Once
	fixtureDocs []fixtureDoc
	fixtureErr  error
)

// fixtures returns every HL7 V3 document in the fixtures (not the schemas
// or stylesheets), reading the tree once per test binary.
func fixtures(t testing.TB) []fixtureDoc {
	t.Helper()
	root := testutil.Fixtures(t, "hl7v3")
	fixtureOnce.Do(func() {
		fixtureErr = filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			if info.IsDir() {
				switch info.Name() {
				case "mim", "spine-xslt", "assurance-checks":
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.EqualFold(filepath.Ext(path), ".xml") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			name := rootName(b)
			switch {
			case strings.HasPrefix(name, "PORX_") || strings.HasPrefix(name, "MCCI_"):
				fixtureDocs = append(fixtureDocs, fixtureDoc{rel: rel, data: b})
			case payloadTypes[name] != nil:
				fixtureDocs = append(fixtureDocs, fixtureDoc{rel: rel, data: b, payload: true})
			default:
				// SOAP or ebXML MIME captures: the HL7 part inside.
				if doc, ok := cutHL7(b); ok {
					fixtureDocs = append(fixtureDocs, fixtureDoc{rel: rel + "#hl7", data: doc})
				}
			}
			return nil
		})
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixtureDocs
}

func rootName(b []byte) string {
	d := xmlt.NewDecoder(b, xmlt.Limits{})
	k, err := d.Next()
	if err != nil || k != xmlt.StartElement || (d.Name.Space != NS && d.Name.Space != "") {
		return ""
	}
	return d.Name.Local
}

var hl7Start = regexp.MustCompile(`<(\w+:)?((?:PORX|MCCI)_IN\w+)[\s>]`)

// cutHL7 cuts the HL7 V3 interaction out of a SOAP envelope or a MIME
// capture, declaring the namespace it inherited from the envelope.
func cutHL7(b []byte) ([]byte, bool) {
	loc := hl7Start.FindSubmatchIndex(b)
	if loc == nil {
		return nil, false
	}
	prefix := ""
	if loc[2] >= 0 {
		prefix = string(b[loc[2] : loc[3]-1])
	}
	qname := string(b[loc[0]+1 : loc[5]])
	end := bytes.Index(b[loc[0]:], []byte("</"+qname+">"))
	if end < 0 {
		return nil, false
	}
	doc := string(b[loc[0] : loc[0]+end+len("</"+qname+">")])
	decl := ` xmlns="` + NS + `"`
	if prefix != "" {
		decl = ` xmlns:` + prefix + `="` + NS + `"`
	}
	head := doc[:strings.IndexByte(doc, '>')]
	if !strings.Contains(head, strings.TrimSpace(decl[:strings.IndexByte(decl, '=')])+"=") {
		doc = "<" + qname + decl + doc[1+len(qname):]
	}
	return []byte(doc), true
}

// xmllintAll validates encoded messages against the MIM schemas, one xmllint
// run per interaction (loading the schemas is the slow part). docs maps a
// name to the message.
func xmllintAll(t *testing.T, docs map[string]*Message) {
	t.Helper()
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Fatal("xmllint not found: install libxml2-utils (.ci/run does)")
	}
	byInteraction := map[string][]string{}
	dir := t.TempDir()
	names := make([]string, 0, len(docs))
	for name := range docs {
		names = append(names, name)
	}
	sort.Strings(names)
	for i, name := range names {
		m := docs[name]
		doc := m.Encode()
		// The schemas know only the MIM (UK) root names.
		if m.Root != m.Interaction {
			doc = bytes.ReplaceAll(doc, []byte("<"+m.Root), []byte("<"+m.Interaction))
			doc = bytes.ReplaceAll(doc, []byte("</"+m.Root+">"), []byte("</"+m.Interaction+">"))
		}
		f := filepath.Join(dir, fmt.Sprintf("%03d-%s.xml", i, m.Interaction))
		if err := os.WriteFile(f, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		byInteraction[m.Interaction] = append(byInteraction[m.Interaction], f)
	}
	for in, files := range byInteraction {
		schema := testutil.Fixtures(t, "hl7v3", "mim", "Schemas", in+".xsd")
		out, err := exec.Command("xmllint", append([]string{"--noout", "--schema", schema}, files...)...).CombinedOutput()
		if err != nil {
			t.Errorf("%s: encoded output does not validate against the MIM schema: %v\n%s", in, err, out)
		}
	}
}

// wrapPayload builds a whole interaction around a payload document, the way
// a sender would: a wrapper with fresh IDs, a ControlActEvent with the
// sending system as author1, the payload as subject.
func wrapPayload(t testing.TB, interaction string, payload []byte) *Message {
	t.Helper()
	p, err := DecodePayload(payload)
	if err != nil {
		t.Fatalf("payload: %v", err)
	}
	body := rootTypes[interaction]().(message)
	fillWrapper(body, interaction, testWrapper)
	if f := body.wrapper(); f.ack != nil {
		f.ack.TypeCode = AckAccepted
		f.ack.MessageRef.ID = II{Root: "5E9FA6C6-5C34-4C4D-9C1F-7E33C1D1A8B4"}
	}
	ca := body.controlAct()
	*ca.classCode, *ca.moodCode = "CACT", "EVN"
	*ca.author1 = []MCAI_MT040101UK03_Author2{systemAuthor(testWrapper.SenderASID)}
	dst := body.payload().(node)
	if err := recast(dst, p.Body.(node), p.Root); err != nil {
		t.Fatal(err)
	}
	return &Message{Root: interaction, Interaction: interaction, Body: body}
}
