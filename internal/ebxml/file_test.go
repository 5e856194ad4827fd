package ebxml

import (
	"bytes"
	"testing"
)

func TestReadFile(t *testing.T) {
	f, raw := capture(t, "parent-prescription-PORX_IN020101SM31.http")
	if f.Method != "POST" || f.Path != "/Prescription" || f.Proto != "" || f.StatusCode != 0 ||
		f.Header.Get("Nhsd-Request-Id") != "6E26932C-37FE-47FB-A030-1A7E1A995662" ||
		len(f.Body) != 20891 || !bytes.HasSuffix(raw, f.Body) || !bytes.HasPrefix(f.Body, []byte("----=_MIME-Boundary\r\n")) {
		t.Errorf("%s %s %q %d-byte body", f.Method, f.Path, f.Header, len(f.Body))
	}
	method, path, h, body, err := ParseRequestFile(raw)
	if err != nil || method != "POST" || path != "/Prescription" || h.Get("SOAPAction") == "" || !bytes.Equal(body, f.Body) {
		t.Errorf("ParseRequestFile: %v", err)
	}

	msg := fixture(t, mhsTestMessages+"/ebxml_request.msg")
	if f, err := ReadFile(msg); err != nil || !bytes.Equal(f.Body, msg) || len(f.Header) != 0 {
		t.Errorf("a bare MIME body: %v", err)
	}

	tests := []struct {
		name, in   string
		method     string
		status     int
		body       string
		header, hv string
		fails      bool
	}{
		{"request line with protocol", "GET /_poll/abc HTTP/1.1\r\nNhsd-Asid: 200000001285\r\n\r\n", "GET", 0, "", "Nhsd-Asid", "200000001285", false},
		{"status line", "HTTP/1.1 202 Accepted\nContent-Location: /_poll/abc\n\n", "", 202, "", "Content-Location", "/_poll/abc", false},
		{"headers only", "Content-Type: text/xml\n\n<a/>", "", 0, "<a/>", "Content-Type", "text/xml", false},
		{"body kept byte for byte", "POST /x\nContent-Type: text/plain\n\n\r\nline\r\n\n", "POST", 0, "\r\nline\r\n\n", "", "", false},
		{"content length cuts a trailing newline", "POST /x\nContent-Length: 3\n\nabc\n", "POST", 0, "abc", "", "", false},
		{"leading blank lines", "\n\nPOST /x\n\nbody", "POST", 0, "body", "", "", false},
		{"content length too large", "POST /x\nContent-Length: 10\n\nabc", "", 0, "", "", "", true},
		{"content length not a number", "POST /x\nContent-Length: ten\n\nabc", "", 0, "", "", "", true},
		{"no blank line", "POST /x\nContent-Type: text/xml\n", "", 0, "", "", "", true},
		{"not a header", "Message\n", "", 0, "", "", "", true},
		{"continuation line", "POST /x\n folded: no\n\n", "", 0, "", "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ReadFile([]byte(tc.in))
			if tc.fails {
				if err == nil {
					t.Fatalf("no error: %+v", f)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Method != tc.method || f.StatusCode != tc.status || string(f.Body) != tc.body ||
				(tc.header != "" && f.Header.Get(tc.header) != tc.hv) {
				t.Errorf("%+v (body %q)", f, f.Body)
			}
		})
	}
}
