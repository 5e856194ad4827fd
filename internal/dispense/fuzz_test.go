package dispense

import (
	"path/filepath"
	"testing"

	"github.com/openeps/openeps/internal/testutil"
)

// FuzzReadRelease feeds ReadRelease what the Spine answers release requests
// with (the real responses and rejections in the fixtures), mutated. It must
// never panic; whatever it reads as released must be something the builders
// either refuse with an error or turn into a notification that decodes.
func FuzzReadRelease(f *testing.F) {
	for _, pattern := range []string{"PORX_IN070101UK31-*.xml", "PORX_IN070103UK31-*.xml", "PORX_IN110101UK30-*.xml"} {
		for _, file := range testutil.Glob(f, filepath.Join("hl7v3", pattern)) {
			f.Add(testutil.ReadFixture(f, "hl7v3", filepath.Base(file)))
		}
	}
	f.Add([]byte(`<?xml version="1.0"?><PORX_IN070101UK31 xmlns="urn:hl7-org:v3"/>`))
	d := Example()
	f.Fuzz(func(t *testing.T, b []byte) {
		rel, err := ReadRelease(b)
		if err != nil {
			return
		}
		for _, r := range rel {
			if dn, err := Notification(d, r, FullSupplies(r), day0); err == nil {
				decode(t, dn)
			}
		}
	})
}
