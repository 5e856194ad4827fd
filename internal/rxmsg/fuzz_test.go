package rxmsg

import (
	"os"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/rx"
)

// FuzzInput: whatever the decoder accepts, the mapping and the lifecycle
// answer without a panic (seeded from every real message).
func FuzzInput(f *testing.F) {
	for _, p := range fixtureFiles(f) {
		if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	now := time.Date(2022, 2, 1, 10, 0, 0, 0, time.UTC)
	cfg := rx.DefaultConfig()
	f.Fuzz(func(t *testing.T, b []byte) {
		var in any
		if m, _, err := hl7v3.DecodeLenient(b); err == nil {
			in, err = Input(m, now)
			if err != nil {
				return
			}
		} else if p, _, err := hl7v3.DecodePayloadLenient(b); err == nil {
			if in, err = PayloadInput(p, rx.Meta{MessageID: "F"}); err != nil {
				return
			}
		} else {
			return
		}
		if nr, ok := in.(rx.NominatedReleaseRequest); ok {
			_, _ = rx.ReleaseNominated(cfg, nil, nr, now)
			return
		}
		out, err := rx.Apply(cfg, nil, in, now)
		if err == nil && out.Record != nil {
			_, _ = rx.Sweep(cfg, out.Record, now.AddDate(1, 0, 0))
		}
	})
}
