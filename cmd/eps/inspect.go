package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/openeps/openeps/internal/inspect"
)

func init() {
	register(command{
		name:    "inspect",
		summary: "decode HL7 V3 / ebXML files and print their key fields as JSON lines",
		run:     runInspect,
	})
}

func runInspect(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("inspect", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: eps inspect FILE...")
		fmt.Fprintln(stderr, "Decodes each file (a bare HL7 V3 message, a payload, or a whole ebXML MIME")
		fmt.Fprintln(stderr, "message) and prints one JSON object per line; exit status 1 if any failed.")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	failed := false
	for _, name := range fs.Args() {
		var r inspect.Result
		b, err := os.ReadFile(name)
		if err != nil {
			r = inspect.Result{Error: fmt.Sprintf("cannot read: %v", err)}
		} else {
			r = inspect.Bytes(b)
		}
		r.File = name
		if r.Error != "" {
			failed = true
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	if failed {
		return exitError{code: 1}
	}
	return nil
}
