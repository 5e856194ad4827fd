// Package ids checks and makes the identifiers EPS messages carry:
// prescription IDs (short R2 form and long R1 form) with their ISO/IEC 7064
// MOD 37-2 check character, NHS numbers (modulus 11), ODS codes, ASIDs and
// SNOMED CT / dm+d concept IDs (Verhoeff). See ../shared/spec/hl7v3.md §5.
//
// Every check returns an *epserr.Error carrying the code the Spine answers
// with: a prescription ID whose check character is wrong is 17.22/5009
// "Error in check digit"; anything else malformed (a prescription ID's
// format, an NHS number, an ODS code, an ASID, a SNOMED CT ID) is 16.34/5000
// "Unable to process message. Information missing or invalid - …" with what
// was wrong (the Spine's UNABLE_TO_PROCESS, e.g. "nhsNumber is not valid").
// errors.Is(err, ErrFormat) and errors.Is(err, ErrChecksum) tell them apart.
package ids

import (
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/openeps/openeps/internal/epserr"
)

// Errors returned by the checks, wrapped with the offending value.
var (
	ErrFormat   = errors.New("invalid format")
	ErrChecksum = errors.New("invalid check character")
)

// fail wraps a check's error with the EPS code for it.
func fail(code epserr.Code, err error) error {
	return &epserr.Error{Kind: epserr.KindInvalid, Code: code.With(err.Error()), Detail: err.Error(), Err: err}
}

// invalid is a malformed identifier: 16.34/5000.
func invalid(format string, args ...any) error {
	return fail(epserr.UnableToProcess, fmt.Errorf(format, args...))
}

// badCheck is a prescription ID with the wrong check character: 17.22/5009.
func badCheck(format string, args ...any) error {
	return fail(epserr.CheckDigitError, fmt.Errorf(format, args...))
}

const mod37Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+"

// base36 returns the value of an alphanumeric character (case-insensitive), or -1.
func base36(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	}
	return -1
}

// Mod37Check returns the ISO/IEC 7064 MOD 37-2 check character for s, ignoring
// dashes (the Spine's checksum_util.calculate_checksum). It returns an error if
// s holds anything but letters, digits and dashes.
func Mod37Check(s string) (byte, error) {
	t := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			continue
		}
		v := base36(s[i])
		if v < 0 {
			return 0, fmt.Errorf("%w: %q is not alphanumeric", ErrFormat, s[i])
		}
		t = ((t + v) * 2) % 37
	}
	return mod37Alphabet[(38-t)%37], nil
}

var shortIDPattern = regexp.MustCompile(`^[A-F0-9]{6}-[A-Z0-9]{6}-[A-F0-9]{5}[A-Z0-9+]$`)

// CheckShortID checks an R2 short-form prescription ID: the Spine's format
// (^[A-F0-9]{6}-[A-Z0-9]{6}-[A-F0-9]{5}[A-Z0-9+]$) and its check character.
func CheckShortID(id string) error {
	if !shortIDPattern.MatchString(id) {
		return invalid("prescription ID %q: %w", id, ErrFormat)
	}
	want, _ := Mod37Check(id[:len(id)-1])
	if id[len(id)-1] != want {
		return badCheck("prescription ID %q: %w (want %c)", id, ErrChecksum, want)
	}
	return nil
}

// ShortIDKey returns the record key for a short ID: the ID without its check
// character (19 characters), as the Spine stores it. It accepts the key itself.
func ShortIDKey(id string) string {
	id = strings.ToUpper(strings.TrimSpace(id))
	if len(id) == 20 {
		return id[:19]
	}
	return id
}

// NewShortID makes a fresh short-form prescription ID for the prescribing
// organisation ods: 6 random hex digits, the ODS code padded to 6 with zeros
// on the left, 5 random hex digits and the check character.
func NewShortID(ods string) (string, error) {
	ods = strings.ToUpper(ods)
	if len(ods) == 0 || len(ods) > 6 {
		return "", fmt.Errorf("ODS code %q: %w (1 to 6 characters)", ods, ErrFormat)
	}
	for i := 0; i < len(ods); i++ {
		if v := base36(ods[i]); v < 0 {
			return "", fmt.Errorf("ODS code %q: %w", ods, ErrFormat)
		}
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new prescription ID: %w", err)
	}
	h := fmt.Sprintf("%02X%02X%02X", b[0], b[1], b[2])
	t := fmt.Sprintf("%02X%02X%02X", b[3], b[4], b[5])[:5]
	body := h + "-" + strings.Repeat("0", 6-len(ods)) + ods + "-" + t
	c, _ := Mod37Check(body)
	return body + string(c), nil
}

var uuidPattern = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// IsUUID reports whether s is a UUID in 8-4-4-4-12 form (either case).
func IsUUID(s string) bool { return uuidPattern.MatchString(s) }

// IsUpperUUID reports whether s is an upper-case UUID, the Spine's REGEX_GUID.
func IsUpperUUID(s string) bool { return IsUUID(s) && s == strings.ToUpper(s) }

// CheckLongID checks an R1 long-form prescription ID: a UUID, optionally
// followed by a MOD 37-2 check character (37 characters).
func CheckLongID(id string) error {
	switch len(id) {
	case 36:
		if !IsUUID(id) {
			return invalid("long prescription ID %q: %w", id, ErrFormat)
		}
		return nil
	case 37:
		if !IsUUID(id[:36]) || strings.IndexByte(mod37Alphabet, id[36]) < 0 {
			return invalid("long prescription ID %q: %w", id, ErrFormat)
		}
		want, _ := Mod37Check(id[:36])
		if id[36] != want {
			return badCheck("long prescription ID %q: %w (want %c)", id, ErrChecksum, want)
		}
		return nil
	}
	return invalid("long prescription ID %q: %w (36 or 37 characters)", id, ErrFormat)
}

// NewLongID makes a fresh long-form (R1) prescription ID: an upper-case
// UUID followed by its MOD 37-2 check character (37 characters).
func NewLongID() string {
	u := NewUUID()
	c, _ := Mod37Check(u)
	return u + string(c)
}

// NewUUID returns a random (version 4) UUID in upper case, as EPS messages carry them.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ids: crypto/rand failed: " + err.Error()) // the OS has no entropy: nothing sensible to do
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%08X-%04X-%04X-%04X-%012X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// CheckNHSNumber checks a 10-digit NHS number's modulus 11 check digit
// (weights 10..2; 11 becomes 0; 10 is never valid). The Spine refuses a bad
// one as UNABLE_TO_PROCESS "nhsNumber is not valid" (16.34/5000).
func CheckNHSNumber(n string) error {
	if len(n) != 10 {
		return invalid("nhsNumber is not valid: NHS number %q: %w (10 digits)", n, ErrFormat)
	}
	sum := 0
	for i := 0; i < 10; i++ {
		if n[i] < '0' || n[i] > '9' {
			return invalid("nhsNumber is not valid: NHS number %q: %w (10 digits)", n, ErrFormat)
		}
		if i < 9 {
			sum += int(n[i]-'0') * (10 - i)
		}
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	if check == 10 || check != int(n[9]-'0') {
		return invalid("nhsNumber is not valid: NHS number %q: %w", n, ErrChecksum)
	}
	return nil
}

var odsPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,8}$`)

// CheckODS checks an ODS organisation code as the Spine checks a nominated
// performer: 1 to 8 letters, digits or dashes.
func CheckODS(code string) error {
	if !odsPattern.MatchString(code) {
		return invalid("ODS code %q: %w", code, ErrFormat)
	}
	return nil
}

// CheckASID checks an accredited system ID: 1 to 12 digits.
func CheckASID(asid string) error {
	if len(asid) == 0 || len(asid) > 12 {
		return invalid("ASID %q: %w", asid, ErrFormat)
	}
	for i := 0; i < len(asid); i++ {
		if asid[i] < '0' || asid[i] > '9' {
			return invalid("ASID %q: %w", asid, ErrFormat)
		}
	}
	return nil
}

// Verhoeff tables (dihedral group D5).
var (
	verhoeffD = [10][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
		{2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
		{4, 0, 1, 2, 3, 9, 5, 6, 7, 8},
		{5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
		{7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
		{8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	verhoeffP = [8][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
		{5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
		{9, 4, 5, 3, 1, 2, 6, 8, 7, 0},
		{4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
		{7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
)

// CheckSNOMED checks a SNOMED CT concept ID (which includes dm+d product and
// unit codes): 6 to 18 digits, no leading zero, a Verhoeff check digit last.
func CheckSNOMED(id string) error {
	if len(id) < 6 || len(id) > 18 || id[0] == '0' {
		return invalid("SNOMED CT ID %q: %w (6 to 18 digits)", id, ErrFormat)
	}
	c := byte(0)
	for i := 0; i < len(id); i++ {
		ch := id[len(id)-1-i]
		if ch < '0' || ch > '9' {
			return invalid("SNOMED CT ID %q: %w (digits only)", id, ErrFormat)
		}
		c = verhoeffD[c][verhoeffP[i%8][ch-'0']]
	}
	if c != 0 {
		return invalid("SNOMED CT ID %q: %w (Verhoeff)", id, ErrChecksum)
	}
	return nil
}
