package e2e

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/ids"
)

// benchPrescriptions builds n prescriptions before the clock starts.
func benchPrescriptions(b *testing.B, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		_, out[i] = newPrescription(b, "FA565")
	}
	return out
}

// runClients sends b.N prescriptions through the GP's eps mhs with c
// clients at once and reports messages per second.
func runClients(b *testing.B, gp *proc, wait bool, c int) {
	payloads := benchPrescriptions(b, b.N)
	want := http.StatusAccepted
	if wait {
		want = http.StatusOK
	}
	var next atomic.Int64
	var failures atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := gp.api()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				status, _, err := a.send("PORX_IN020101SM31", ids.NewUUID(), wait, payloads[i])
				if err != nil || status != want {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failures.Load(); f > 0 {
		b.Fatalf("%d of %d sends failed", f, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}

// BenchmarkMHSToServe: prescriptions through eps mhs → eps serve over
// HTTPS with mutual TLS, each call answered 202 once eps serve has stored
// it and acknowledged it (the answer then goes back to eps mhs's inbound
// endpoint by the delivery worker, concurrently).
func BenchmarkMHSToServe(b *testing.B) {
	w := newWorld(b)
	db := w.path("spine.db")
	spine := w.startServe("127.0.0.1:0", db)
	gp := w.startMHS("gp", gpParty, gpASID, spine.urls[0], w.path("gp.db"), "127.0.0.1:0")
	register(b, db, gpParty, gpASID, "A83008", gp.urls[1])
	runClients(b, gp, false, 8)
}

// BenchmarkMHSRoundTrip: the same with wait-for-response: each call returns
// only when the HL7 acknowledgement has come back as an async ebXML message
// from eps serve's outbox to eps mhs's inbound endpoint.
func BenchmarkMHSRoundTrip(b *testing.B) {
	w := newWorld(b)
	db := w.path("spine.db")
	spine := w.startServe("127.0.0.1:0", db)
	gp := w.startMHS("gp", gpParty, gpASID, spine.urls[0], w.path("gp.db"), "127.0.0.1:0")
	register(b, db, gpParty, gpASID, "A83008", gp.urls[1])
	runClients(b, gp, true, 8)
}
