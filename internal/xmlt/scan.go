package xmlt

import "math/bits"

// Word-at-a-time scanning (SWAR): eight bytes of the document are examined
// with a handful of integer operations instead of one branch each. Every
// mask below is exact per byte, so the lowest set bit names the first
// matching byte.

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// load8 reads s[i:i+8] as a little-endian word (the compiler merges the
// loads into one).
func load8(s string, i int) uint64 {
	b := s[i : i+8] // one bounds check for the eight loads
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// zeroBytes has the top bit of each byte of x that is zero set.
func zeroBytes(x uint64) uint64 {
	const m = 0x7F7F7F7F7F7F7F7F
	return ^(((x & m) + m) | x | m)
}

// eqBytes marks the bytes of w equal to c.
func eqBytes(w uint64, c byte) uint64 { return zeroBytes(w ^ (lo8 * uint64(c))) }

// ctlBytes marks the bytes of w below 0x20.
func ctlBytes(w uint64) uint64 { return ^((w &^ hi8) + lo8*0x60) &^ w & hi8 }

// firstByte is the index of the byte marked by the lowest bit of m.
func firstByte(m uint64) int { return bits.TrailingZeros64(m) >> 3 }

// textClass marks the bytes of character data that need more than copying:
// '&', '\r', and the control characters XML does not allow.
var textClass = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = c != '\t' && c != '\n'
	}
	t['&'] = true
	return t
}()

// textSpecial reports whether character data holds a reference, a carriage
// return or a forbidden control character.
func textSpecial(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := load8(s, i)
		if eqBytes(w, '&')|(ctlBytes(w)&^(eqBytes(w, '\t')|eqBytes(w, '\n'))) != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
		if textClass[s[i]] {
			return true
		}
	}
	return false
}

// badControl returns the index of the first control character XML does not
// allow (anything below 0x20 but tab, line feed and carriage return), or -1.
func badControl(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := load8(s, i)
		if m := ctlBytes(w) &^ (eqBytes(w, '\t') | eqBytes(w, '\n') | eqBytes(w, '\r')); m != 0 {
			return i + firstByte(m)
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return i
		}
	}
	return -1
}

// scanAttr returns the index (from i) of the first byte of s that ends or
// complicates an attribute value quoted with q: q itself, '<', '&', or a
// control character (tabs and line ends are normalised to spaces). It
// returns len(s) if there is none.
func scanAttr(s string, i int, q byte) int {
	for ; i+8 <= len(s); i += 8 {
		w := load8(s, i)
		if m := eqBytes(w, q) | eqBytes(w, '<') | eqBytes(w, '&') | ctlBytes(w); m != 0 {
			return i + firstByte(m)
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == q || c == '<' || c == '&' || c < 0x20 {
			return i
		}
	}
	return len(s)
}
