package rx

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rx is pure: no clock, no I/O, no store, no network, no HL7 (ARCHITECTURE.md).
func TestRxIsPure(t *testing.T) {
	allowed := map[string]bool{
		"encoding/json": true, "fmt": true, "math/big": true, "regexp": true, "sort": true, "strconv": true,
		"strings": true, "time": true,
		"github.com/openeps/openeps/internal/epserr": true, "github.com/openeps/openeps/internal/ids": true,
	}
	files, _ := filepath.Glob("*.go")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		n++
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !allowed[path] {
				t.Errorf("%s imports %s", f, path)
			}
		}
		for _, banned := range []string{"time.Now(", "time.Since(", "time.Until(", "rand."} {
			if strings.Contains(string(src), banned) {
				t.Errorf("%s uses %s: the clock and randomness are inputs", f, banned)
			}
		}
	}
	if n == 0 {
		t.Fatal("no source files found")
	}
}
