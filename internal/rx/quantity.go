package rx

import (
	"math/big"
	"strings"
)

// Quantity is a decimal quantity as messages write them ("28", "1.5"), kept
// exact so sums never drift.
type Quantity struct{ r big.Rat }

// ParseQuantity reads a non-negative decimal: digits with at most one point,
// at most 18 significant characters (a quantity, not an arbitrary number).
func ParseQuantity(s string) (Quantity, bool) {
	var q Quantity
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 18 {
		return q, false
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0 && i < len(s)-1:
			dot = true
		default:
			return q, false
		}
	}
	if _, ok := q.r.SetString(s); !ok {
		return q, false
	}
	return q, true
}

// Add returns q + o.
func (q Quantity) Add(o Quantity) Quantity {
	var s Quantity
	s.r.Add(&q.r, &o.r)
	return s
}

// Sub returns q − o.
func (q Quantity) Sub(o Quantity) Quantity {
	var s Quantity
	s.r.Sub(&q.r, &o.r)
	return s
}

// Cmp compares q and o (−1, 0, +1).
func (q Quantity) Cmp(o Quantity) int { return q.r.Cmp(&o.r) }

// String writes q as a plain decimal without trailing zeros.
func (q Quantity) String() string {
	if q.r.IsInt() {
		return q.r.Num().String()
	}
	s := q.r.FloatString(9)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
