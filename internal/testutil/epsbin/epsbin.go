// Package epsbin builds the eps binary for tests that run it as a user
// does: as a real process, with real flags, signals and exit codes.
package epsbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Main is a TestMain: it builds cmd/eps into a temporary directory, sets
// *path to the binary, runs the tests and removes the binary again.
func Main(m *testing.M, path *string) {
	dir, err := os.MkdirTemp("", "eps-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*path = filepath.Join(dir, "eps")
	out, err := exec.Command("go", "build", "-o", *path, "github.com/openeps/openeps/cmd/eps").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build of cmd/eps: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
