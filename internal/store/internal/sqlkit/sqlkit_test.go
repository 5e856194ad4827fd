package sqlkit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/testutil"
)

func fixtureSeeds(f *testing.F) {
	paths, err := filepath.Glob(testutil.Fixtures(f, "hl7v3", "*.xml"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no HL7 fixtures to seed from: %v", err)
	}
	for _, p := range paths[:min(len(paths), 20)] {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0x00, 0xfe})
}

func FuzzPackRoundTrip(f *testing.F) {
	fixtureSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		p := Pack(b)
		if len(p) > len(b)+1 {
			t.Fatalf("Pack grew %d bytes to %d", len(b), len(p))
		}
		got, err := Unpack(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, b) {
			t.Fatalf("round trip changed %d bytes into %d", len(b), len(got))
		}
	})
}

// Unpack reads what is on disk; a damaged row must give an error, not a panic.
func FuzzUnpack(f *testing.F) {
	fixtureSeeds(f)
	for _, b := range [][]byte{Pack(bytes.Repeat([]byte("<x/>"), 100)), {encDeflate}, {encDeflate, 0xff}, {9, 1, 2}} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		got, err := Unpack(p)
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v is not ErrCorrupt", err)
		}
		if err == nil && len(p) > 0 && p[0] == encPlain && !bytes.Equal(got, p[1:]) {
			t.Fatalf("plain body changed")
		}
	})
}

func TestPackCompressesHL7(t *testing.T) {
	b := testutil.ReadFixture(t, "hl7v3", "PORX_IN020101UK31-parent-prescription-repeat-dispensing.xml")
	if p := Pack(b); len(p)*3 > len(b) {
		t.Errorf("a %d-byte prescription packs to %d bytes", len(b), len(p))
	}
}

func TestUnpackCorrupt(t *testing.T) {
	for _, p := range [][]byte{nil, {}, {7}, {encDeflate, 0x01, 0x02, 0x03}, Pack(bytes.Repeat([]byte("abc"), 1000))[:20]} {
		if _, err := Unpack(p); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Unpack(% x): %v, want ErrCorrupt", p, err)
		}
	}
}

func TestMicros(t *testing.T) {
	if got := FromMicros(Micros(time.Time{})); !got.IsZero() {
		t.Errorf("zero time came back as %v", got)
	}
	tm := time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.FixedZone("X", 3600))
	if got := FromMicros(Micros(tm)); !got.Equal(tm.Truncate(time.Microsecond)) || got.Location() != time.UTC {
		t.Errorf("%v came back as %v", tm, got)
	}
	if Micros(time.Time{}) >= Micros(time.Unix(0, 0)) {
		t.Errorf("the zero time does not sort before real times")
	}
}

func TestBackoff(t *testing.T) {
	for n := 1; n < 40; n++ {
		for range 50 {
			d := Backoff(n, time.Millisecond, 100*time.Millisecond)
			if d <= 0 || d > 100*time.Millisecond {
				t.Fatalf("Backoff(%d) = %v", n, d)
			}
		}
	}
}
