package delivery_test

import (
	"testing"
	"time"

	"github.com/openeps/openeps/internal/delivery"
	"github.com/openeps/openeps/internal/store"
)

// BenchmarkDeliver: outbox items to an eps mhs inbound endpoint over HTTPS
// with mutual TLS, each done on the receiver's acknowledgment (the
// receiver keeps each in its inbox, with its receipt, in its own store).
func BenchmarkDeliver(b *testing.B) {
	e := newEnv(b, quick())
	e.enqueue(b.N)
	w := e.worker(func(c *delivery.Config) { c.Concurrency = 8 })
	b.ResetTimer()
	start := time.Now()
	e.run(w)
	for len(e.outbox(store.OutboxDone)) < b.N {
		time.Sleep(5 * time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
