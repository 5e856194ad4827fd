package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/openeps/openeps/internal/demo"
)

func init() {
	register(command{
		name:    "demo",
		summary: "run the EPS journey end to end on a temporary embedded store and print each step",
		run:     runDemo,
	})
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	dir := fs.String("dir", "", "keep the demo's SQLite store in this directory (default: a temporary one, removed after)")
	now := fs.String("now", "", "run the demo at this RFC 3339 time (default: now)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var at time.Time
	if *now != "" {
		t, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			return fmt.Errorf("--now: %w", err)
		}
		at = t
	}
	fmt.Fprintln(stdout, "openeps demo: a prescription through a real Spine-side EPS service")
	return demo.Run(ctx, stdout, demo.Options{Dir: *dir, Now: at})
}
