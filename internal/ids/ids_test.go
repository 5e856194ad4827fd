package ids

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/openeps/openeps/internal/epserr"
	"github.com/openeps/openeps/internal/testutil"
)

func TestShortIDWorkedExamples(t *testing.T) {
	// hl7v3.md §5.1 worked examples.
	for _, id := range []string{"24F5DA-A83008-7EFE6Z", "4243A0-A99968-4E149+", "A0548B-A99968-451485"} {
		if err := CheckShortID(id); err != nil {
			t.Errorf("CheckShortID(%s) = %v, want valid", id, err)
		}
	}
	// Changing the check character or any other character must be caught.
	bad := []string{"24F5DA-A83008-7EFE6Y", "24F5DA-A83008-7EFE7Z", "34F5DA-A83008-7EFE6Z", "4243A0-A99968-4E1490"}
	for _, id := range bad {
		if err := CheckShortID(id); !errors.Is(err, ErrChecksum) {
			t.Errorf("CheckShortID(%s) = %v, want ErrChecksum", id, err)
		}
	}
	for _, id := range []string{"", "24F5DA-A83008-7EFE6", "24f5da-a83008-7efe6z", "G4F5DA-A83008-7EFE6Z", "24F5DAA83008-7EFE6ZZ"} {
		if err := CheckShortID(id); !errors.Is(err, ErrFormat) {
			t.Errorf("CheckShortID(%q) = %v, want ErrFormat", id, err)
		}
	}
}

// TestShortIDsInFixtures checks every distinct short ID in the HL7 V3 fixtures:
// the spec counted 149, of which exactly four (used in test-bench chains) fail.
func TestShortIDsInFixtures(t *testing.T) {
	root := testutil.Fixtures(t, "hl7v3")
	re := regexp.MustCompile(`extension="([A-F0-9]{6}-[A-Z0-9]{6}-[A-F0-9]{5}[A-Z0-9+])"`)
	seen := map[string]bool{}
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.EqualFold(filepath.Ext(path), ".xml") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			seen[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for id := range seen {
		if CheckShortID(id) != nil {
			failed = append(failed, id)
		}
	}
	sort.Strings(failed)
	want := []string{"561479-395879-521272", "83C40E-A23856-00123C", "887228-510420-124913", "B5B247-5E8CD4-19819N"}
	if len(seen) < 140 {
		t.Errorf("found only %d short IDs in the fixtures", len(seen))
	}
	if strings.Join(failed, ",") != strings.Join(want, ",") {
		t.Errorf("failing IDs = %v, want %v", failed, want)
	}
}

func TestNewShortID(t *testing.T) {
	for _, ods := range []string{"A83008", "FA565", "X"} {
		for i := 0; i < 200; i++ {
			id, err := NewShortID(ods)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckShortID(id); err != nil {
				t.Fatalf("NewShortID(%s) = %s: %v", ods, id, err)
			}
			if !strings.HasSuffix(id[7:13], ods) {
				t.Fatalf("NewShortID(%s) = %s: ODS not in the middle part", ods, id)
			}
		}
	}
	if _, err := NewShortID("TOOLONG"); err == nil {
		t.Error("NewShortID accepted a 7-character ODS code")
	}
}

func TestLongID(t *testing.T) {
	u := "20BA5FB5-CB58-462C-923E-22D180B09356"
	if err := CheckLongID(u); err != nil {
		t.Fatal(err)
	}
	c, _ := Mod37Check(u)
	if err := CheckLongID(u + string(c)); err != nil {
		t.Fatalf("with its check character: %v", err)
	}
	other := byte('0')
	if c == '0' {
		other = '1'
	}
	if err := CheckLongID(u + string(other)); !errors.Is(err, ErrChecksum) {
		t.Fatalf("wrong check character accepted: %v", err)
	}
	if !IsUpperUUID(NewUUID()) {
		t.Fatal("NewUUID is not an upper-case UUID")
	}
}

func TestNHSNumber(t *testing.T) {
	for _, n := range []string{"9449304106", "5839945242", "9990548609", "9000000009"} {
		if err := CheckNHSNumber(n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	for _, n := range []string{"9000000008", "9449304107", "123456789", "94493041060", "944930410X"} {
		if err := CheckNHSNumber(n); err == nil {
			t.Errorf("%s accepted", n)
		}
	}
	// A number whose check would be 10 is never valid.
	if err := CheckNHSNumber("0000000060"); err == nil {
		t.Error("check 10 accepted")
	}
}

func TestSNOMED(t *testing.T) {
	for _, id := range []string{"39732311000001104", "322341003", "428673006", "163501000000109", "225426007", "22480211000001104"} {
		if err := CheckSNOMED(id); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	for _, id := range []string{"39732311000001105", "322341004", "012345", "12345"} {
		if err := CheckSNOMED(id); err == nil {
			t.Errorf("%s accepted", id)
		}
	}
}

func TestODSAndASID(t *testing.T) {
	if CheckODS("FA565") != nil || CheckODS("") == nil || CheckODS("ABCDEFGHI") == nil || CheckODS("A B") == nil {
		t.Error("CheckODS")
	}
	if CheckASID("200000001285") != nil || CheckASID("") == nil || CheckASID("12a") == nil {
		t.Error("CheckASID")
	}
}

// TestEPSCodes: each failed check carries the code the Spine answers with.
func TestEPSCodes(t *testing.T) {
	cases := []struct {
		err    error
		want   epserr.Code
		detail string
	}{
		{CheckShortID("24F5DA-A83008-7EFE6Y"), epserr.CheckDigitError, "want Z"},
		{CheckShortID("B5B247-5E8CD4-19819N"), epserr.CheckDigitError, "B5B247-5E8CD4-19819N"}, // a test-bench ID (hl7v3.md §5.1)
		{CheckShortID("24F5DA-A83008"), epserr.UnableToProcess, "invalid format"},
		{CheckLongID(NewUUID() + "!"), epserr.UnableToProcess, "invalid format"},
		{CheckNHSNumber("9000000008"), epserr.UnableToProcess, "nhsNumber is not valid"},
		{CheckNHSNumber("12345"), epserr.UnableToProcess, "nhsNumber is not valid"},
		{CheckODS("A B"), epserr.UnableToProcess, "ODS code"},
		{CheckASID("x"), epserr.UnableToProcess, "ASID"},
		{CheckSNOMED("322341004"), epserr.UnableToProcess, "Verhoeff"},
	}
	for i, c := range cases {
		e := epserr.As(c.err)
		if e == nil {
			t.Errorf("%d: %v is not an *epserr.Error", i, c.err)
			continue
		}
		if e.Code.System != c.want.System || e.Code.Value != c.want.Value || !strings.HasPrefix(e.Code.Display, c.want.Display+" - ") ||
			!strings.Contains(e.Code.Display, c.detail) || e.Kind != epserr.KindInvalid {
			t.Errorf("%d: %+v, want %v with %q", i, e.Code, c.want, c.detail)
		}
	}
	// The sentinel errors still tell the faults apart.
	if !errors.Is(CheckShortID("24F5DA-A83008-7EFE6Y"), ErrChecksum) || !errors.Is(CheckNHSNumber("12345"), ErrFormat) {
		t.Error("errors.Is")
	}
	// The long ID's check character is checked as the short ID's.
	long := NewLongID()
	if err := CheckLongID(long); err != nil || len(long) != 37 || !IsUpperUUID(long[:36]) {
		t.Fatalf("NewLongID() = %s: %v", long, err)
	}
	bad := long[:36] + string(map[bool]byte{true: '1', false: '0'}[long[36] == '0'])
	if e := epserr.As(CheckLongID(bad)); e == nil || e.Code.Value != "5009" {
		t.Errorf("%s: %v", bad, CheckLongID(bad))
	}
}

func FuzzCheckShortID(f *testing.F) {
	f.Add("24F5DA-A83008-7EFE6Z")
	f.Add("4243A0-A99968-4E149+")
	f.Fuzz(func(t *testing.T, s string) {
		if CheckShortID(s) == nil {
			if len(s) != 20 {
				t.Fatalf("accepted %q", s)
			}
			c, err := Mod37Check(s[:19])
			if err != nil || c != s[19] {
				t.Fatalf("accepted %q with a wrong check", s)
			}
		}
		_ = CheckLongID(s)
		_ = CheckNHSNumber(s)
		_ = CheckSNOMED(s)
	})
}
