package xmlt

import "unicode/utf8"

// AppendEscapedText appends s to b escaped for character data: & and < always,
// > always (so "]]>" can never appear), and \r as a character reference so it
// survives line-end normalisation.
func AppendEscapedText(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\r':
			esc = "&#xD;"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

// AppendEscapedAttr appends s escaped for a double-quoted attribute value.
// Tabs and line ends are written as character references so that attribute
// normalisation on the way back in does not turn them into spaces.
func AppendEscapedAttr(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '"':
			esc = "&quot;"
		case '\t':
			esc = "&#x9;"
		case '\n':
			esc = "&#xA;"
		case '\r':
			esc = "&#xD;"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

// ValidText reports whether s holds only characters XML 1.0 allows
// (no control characters other than tab, CR and LF; valid UTF-8).
func ValidText(s string) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for i := 0; i < len(s); {
		// Fast path: eight ASCII bytes at a time; a word holding a control
		// character (usually a line end) is checked byte by byte.
		if i+8 <= len(s) {
			w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			if w&hi == 0 {
				if (w-lo*0x20)&^w&hi != 0 {
					for _, c := range []byte(s[i : i+8]) {
						if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
							return false
						}
					}
				}
				i += 8
				continue
			}
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		i += n
	}
	return true
}

// IsSpace reports whether s is empty or only XML white space.
func IsSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}
