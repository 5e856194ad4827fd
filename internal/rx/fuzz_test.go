package rx

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/testutil"
)

// FuzzImportSpineRecord: any bytes either fail cleanly or give a record that
// survives encoding and the lifecycle without a panic.
func FuzzImportSpineRecord(f *testing.F) {
	for _, p := range testutil.Glob(f, filepath.Join("spine-records", "*.json")) {
		f.Add(testutil.ReadFixture(f, "spine-records", filepath.Base(p)))
	}
	f.Add([]byte(`{"prescription":{"prescriptionID":"X"},"instances":{"1":{"prescriptionStatus":"0001","lineItems":false}}}`))
	f.Add([]byte(`{"prescription":{"prescriptionID":"24F5DA-A83008-7EFE6Z","currentInstance":"7"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ImportSpineRecord(b)
		if err != nil {
			return
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
		now := time.Date(2014, 5, 8, 12, 0, 0, 0, time.UTC)
		cfg := DefaultConfig()
		_, _ = Sweep(cfg, r, now)
		w := &world{t: &testing.T{}, cfg: cfg, rec: r, now: now}
		_, _ = Apply(cfg, r, w.release(pharmacyA), now)
		_, _ = Apply(cfg, r, w.cancel(""), now)
		_ = r.Summary()
	})
}
