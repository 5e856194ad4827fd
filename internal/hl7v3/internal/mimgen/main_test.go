package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/openeps/openeps/internal/testutil"
)

// TestGeneratedFilesAreUpToDate regenerates the types and the codec from
// the MIM and the datatypes and compares them with the files in the
// package: run `go generate ./internal/hl7v3` after changing either.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	dt, err := os.ReadFile("../../datatypes.go")
	if err != nil {
		t.Fatal(err)
	}
	types, codec, err := generate(testutil.Fixtures(t, "hl7v3", "mim"), dt)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{"../../mim_gen.go": types, "../../codec_gen.go": codec} {
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what mimgen generates: run go generate ./internal/hl7v3", name)
		}
	}
}
