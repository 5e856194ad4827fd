package ebxml

import (
	"testing"
	"time"
)

func TestXMLSafe(t *testing.T) {
	for in, want := range map[string]string{
		"plain":               "plain",
		"tab\tlf\ncr\r":       "tab\tlf\ncr\r",
		"ctl\x02x":            "ctl\uFFFDx",
		"bad\xffutf8":         "bad\uFFFDutf8",
		"nul\x00":             "nul\uFFFD",
		"\uFFFE\uFFFF ok é 𝄞": "\uFFFD\uFFFD ok é 𝄞",
	} {
		if got := XMLSafe(in); got != want {
			t.Errorf("XMLSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHostileTextMakesReadableAnswers: an error quoting hostile bytes still
// gives an ErrorList and a SOAP fault that parse: the builders clean what
// they write.
func TestHostileTextMakesReadableAnswers(t *testing.T) {
	e := &Error{Code: MimeProblem, Text: "the part is \x02\xff, not text/xml", Location: "cid:\x01"}
	ct, body := ErrorList(nil, "ID", time.Now(), e)
	m, err := Parse(ct, body, Limits{})
	if err != nil || m.Kind != KindErrorList || len(m.Errors()) != 1 {
		t.Fatalf("%v %v\n%s", err, m, body)
	}
	if e.Text != "the part is \x02\xff, not text/xml" {
		t.Error("building the answer changed the error")
	}
	ct, body = SOAPFault("Client", "bad \x03 request", FaultErrorsOf(e)...)
	if m, err := Parse(ct, body, Limits{}); err != nil || m.Kind != KindFault {
		t.Fatalf("SOAP fault: %v\n%s", err, body)
	}
}
