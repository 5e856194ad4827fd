package hl7v3

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openeps/openeps/internal/testutil"
	"github.com/openeps/openeps/internal/xmlt"
)

// fixtureFiles returns every XML file under the HL7 V3 fixtures (not the
// schemas or stylesheets), split into whole interactions and payload-only
// documents by their root element.
func fixtureFiles(t *testing.T) (messages, payloads []string) {
	t.Helper()
	root := testutil.Fixtures(t, "hl7v3")
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
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
		name := rootName(b)
		switch {
		case name == "":
			// MIME or SOAP-wrapped captures: the ebXML package reads those.
		case strings.HasPrefix(name, "PORX_") || strings.HasPrefix(name, "MCCI_"):
			messages = append(messages, path)
		case payloadTypes[name] != nil:
			payloads = append(payloads, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return messages, payloads
}

func rootName(b []byte) string {
	d := xmlt.NewDecoder(b, xmlt.Limits{})
	k, err := d.Next()
	if err != nil || k != xmlt.StartElement || (d.Name.Space != NS && d.Name.Space != "") {
		return ""
	}
	return d.Name.Local
}

// TestRoundTripFixtures decodes every real message, encodes it, and checks
// that the encoding decodes to an equal value and carries the same XML
// information (elements, attributes, text) as the original.
func TestRoundTripFixtures(t *testing.T) {
	messages, payloads := fixtureFiles(t)
	if len(messages) < 100 || len(payloads) < 150 {
		t.Fatalf("found %d messages and %d payloads; the fixtures have more", len(messages), len(payloads))
	}
	rel := func(p string) string { r, _ := filepath.Rel(testutil.Fixtures(t, "hl7v3"), p); return r }
	for _, path := range messages {
		b, _ := os.ReadFile(path)
		m, problems, err := DecodeLenient(b)
		if err != nil {
			t.Errorf("%s: %v", rel(path), err)
			continue
		}
		invalid := firstError(problems) != nil
		if invalid && !strings.Contains(path, "spine-answers") {
			// Only the simulator's templates (an older release format) may
			// depart from the schema; every real message must be valid.
			t.Errorf("%s: %v", rel(path), firstError(problems))
		}
		out := m.Encode()
		m2, _, err := DecodeLenient(out)
		if err != nil {
			t.Errorf("%s: re-decode: %v\n%s", rel(path), err, out)
			continue
		}
		if diff := cmp.Diff(m, m2); diff != "" {
			t.Errorf("%s: Decode(Encode(x)) differs (-first +second):\n%s", rel(path), diff)
		}
		if !invalid {
			// (A message missing required elements gets them written empty.)
			sameInformation(t, rel(path), b, out)
		}
	}
	for _, path := range payloads {
		b, _ := os.ReadFile(path)
		p, problems, err := DecodePayloadLenient(b)
		if err != nil {
			t.Errorf("%s: %v", rel(path), err)
			continue
		}
		invalid := firstError(problems) != nil
		out := p.Encode()
		p2, _, err := DecodePayloadLenient(out)
		if err != nil {
			t.Errorf("%s: re-decode: %v", rel(path), err)
			continue
		}
		if diff := cmp.Diff(p, p2); diff != "" {
			t.Errorf("%s: DecodePayload(Encode(x)) differs:\n%s", rel(path), diff)
		}
		if !invalid {
			sameInformation(t, rel(path), b, out)
		}
	}
}

// sameInformation compares two documents as trees: namespace-resolved names,
// attributes (ignoring namespace declarations and empty values), text
// (trimmed), and children as a multiset (encoding reorders into schema order).
func sameInformation(t *testing.T, name string, a, b []byte) {
	t.Helper()
	ta, err := canonicalTree(a)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	tb, err := canonicalTree(b)
	if err != nil {
		t.Errorf("%s: encoded: %v", name, err)
		return
	}
	if ta != tb {
		la, lb := strings.Split(ta, "\n"), strings.Split(tb, "\n")
		for i := 0; i < len(la) && i < len(lb); i++ {
			if la[i] != lb[i] {
				t.Errorf("%s: information differs at line %d:\n original: %.300s\n encoded:  %.300s", name, i, la[i], lb[i])
				return
			}
		}
		t.Errorf("%s: information differs (%d vs %d lines)", name, len(la), len(lb))
	}
}

type node struct {
	name  string
	attrs []string
	text  string
	kids  []*node
}

func canonicalTree(b []byte) (string, error) {
	d := xmlt.NewDecoder(b, xmlt.Limits{})
	var stack []*node
	var root *node
	for {
		k, err := d.Next()
		if err != nil {
			return "", err
		}
		switch k {
		case xmlt.EOF:
			return render(root, 0), nil
		case xmlt.StartElement:
			space := d.Name.Space
			if space == "" {
				space = NS // bare payload documents are HL7 without saying so
			}
			n := &node{name: "{" + space + "}" + d.Name.Local}
			for _, at := range d.Attrs {
				if at.Name.Space == xmlt.XMLNS || at.Value == "" {
					continue
				}
				n.attrs = append(n.attrs, fmt.Sprintf("{%s}%s=%q", at.Name.Space, at.Name.Local, at.Value))
			}
			sort.Strings(n.attrs)
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xmlt.EndElement:
			stack = stack[:len(stack)-1]
		case xmlt.Text:
			stack[len(stack)-1].text += d.Text
		}
	}
}

func render(n *node, depth int) string {
	var kids []string
	for _, k := range n.kids {
		kids = append(kids, render(k, depth+1))
	}
	sort.Strings(kids)
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s%s %s %q", strings.Repeat(" ", depth), n.name, strings.Join(n.attrs, " "), strings.TrimSpace(n.text))
	for _, k := range kids {
		buf.WriteString("\n" + k)
	}
	return buf.String()
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }
