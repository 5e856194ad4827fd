package mhs_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/prescribe"
)

// BenchmarkSendInProcess: client API → adaptor → Spine service over HTTPS
// with mutual TLS, answer delivered back to the adaptor's inbound
// endpoint, all in one process (the cross-process figures are in
// internal/e2e).
func BenchmarkSendInProcess(b *testing.B) {
	for _, wait := range []bool{false, true} {
		name := "async"
		if wait {
			name = "wait-for-response"
		}
		b.Run(name, func(b *testing.B) {
			p := newPKI(b)
			sp := newSpine(b, p, spineOptions{})
			gp := newMHS(b, p, sp, "A83008-0000001", nil)
			bodies := make([][]byte, b.N)
			for i := range bodies {
				pr := prescribe.Example(time.Now().UTC().Add(-time.Minute), "FA565")
				rx, err := prescribe.Build(&pr)
				if err != nil {
					b.Fatal(err)
				}
				bodies[i], _ = json.Marshal(map[string]string{"payload": string(rx)})
			}
			want := http.StatusAccepted
			if wait {
				want = http.StatusOK
			}
			var next, fails atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						req, _ := http.NewRequest(http.MethodPost, gp.client+"/", bytes.NewReader(bodies[i]))
						req.Header.Set("Content-Type", "application/json")
						req.Header.Set("Interaction-Id", "PORX_IN020101SM31")
						req.Header.Set("Message-Id", ids.NewUUID())
						if wait {
							req.Header.Set("wait-for-response", "true")
						} else {
							req.Header.Set("wait-for-response", "false")
						}
						resp, err := http.DefaultClient.Do(req)
						if err != nil || resp.StatusCode != want {
							fails.Add(1)
						}
						if resp != nil {
							resp.Body.Close()
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			if f := fails.Load(); f > 0 {
				b.Fatalf("%d failures", f)
			}
		})
	}
}
