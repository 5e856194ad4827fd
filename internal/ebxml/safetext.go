package ebxml

import (
	"strings"
	"unicode/utf8"
)

// XMLSafe returns s with everything XML 1.0 cannot carry — bytes that are
// not UTF-8, control characters other than tab, line feed and carriage
// return, surrogates, U+FFFE and U+FFFF — replaced by U+FFFD. Error texts
// quote what a sender sent (a Content-Type, an element name); this keeps a
// hostile message from making the ErrorList or SOAP fault that answers it
// unreadable.
func XMLSafe(s string) string {
	clean := true
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !xmlChar(r, n) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if xmlChar(r, n) {
			b.WriteString(s[i : i+n])
		} else {
			b.WriteRune(utf8.RuneError)
		}
		i += n
	}
	return b.String()
}

func xmlChar(r rune, size int) bool {
	switch {
	case r == utf8.RuneError && size <= 1:
		return false
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r < 0x20:
		return false
	case r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
		return false
	}
	return true
}
