// Package testutil holds helpers shared by tests: where the repository and the
// shared NHS fixtures are.
package testutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoRoot returns the directory holding go.mod.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("testutil: cannot find the source file")
	}
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("testutil: no go.mod above " + file)
		}
		dir = parent
	}
}

// Fixtures returns the absolute path of ../shared/fixtures (relative to the
// repository root), joined with elem. It fails the test, saying what to do,
// when the fixtures are not there.
func Fixtures(tb testing.TB, elem ...string) string {
	tb.Helper()
	base := filepath.Join(filepath.Dir(RepoRoot(tb)), "shared", "fixtures")
	if env := os.Getenv("OPENEPS_FIXTURES"); env != "" {
		base = env
	}
	if _, err := os.Stat(base); err != nil {
		tb.Fatalf("NHS fixtures not found at %s: check out the shared folder beside the repository "+
			"(../shared/fixtures) or set OPENEPS_FIXTURES", base)
	}
	return filepath.Join(append([]string{base}, elem...)...)
}

// ReadFixture reads one fixture file.
func ReadFixture(tb testing.TB, elem ...string) []byte {
	tb.Helper()
	b, err := os.ReadFile(Fixtures(tb, elem...))
	if err != nil {
		tb.Fatalf("read fixture: %v", err)
	}
	return b
}

// Glob returns the fixture files matching pattern under the fixtures folder,
// failing if there are none (a glob that matches nothing would let a test pass
// vacuously).
func Glob(tb testing.TB, pattern string) []string {
	tb.Helper()
	m, err := filepath.Glob(Fixtures(tb, pattern))
	if err != nil {
		tb.Fatal(err)
	}
	if len(m) == 0 {
		tb.Fatalf("no fixtures match %s", pattern)
	}
	return m
}
