package storetest

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/store"
)

// Sizes of the benchmark's writes: a record body about the size of a real
// acute prescription record, and an inbound message about the size of a
// signed parent prescription.
const (
	BenchRecordSize  = 4 << 10
	BenchMessageSize = 20 << 10
)

// BenchmarkUpdate measures Update throughput with the given number of
// concurrent writers. Each operation is what accepting a new prescription
// costs the store: one Update that creates a ~4 KB record and stores the
// ~20 KB inbound message (compressed by the backend) with its answer. It
// reports ops/s.
func BenchmarkUpdate(b *testing.B, s store.Store, writers int) {
	rng := rand.New(rand.NewPCG(9, 10))
	raw := hl7Body(rng, BenchMessageSize)
	ack := []byte(`<MCCI_IN010000UK13 xmlns="urn:hl7-org:v3"><acknowledgement typeCode="AA"/></MCCI_IN010000UK13>`)
	data := bytes.Repeat([]byte(`{"lineItem":{"ID":"A54219B8-F741-4C47-B662-E4F8DFA49AB6","status":"0007"}}`), BenchRecordSize/75)
	prefix := fmt.Sprintf("%06X", rng.Uint32()&0xFFFFFF)

	var next atomic.Int64
	var wg sync.WaitGroup
	var failMu sync.Mutex
	var failed error
	b.SetBytes(int64(len(raw) + len(data)))
	b.ResetTimer()
	start := time.Now()
	for range writers {
		wg.Go(func() {
			ctx := context.Background()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				key := fmt.Sprintf("%s-A83008-%05X%d", prefix, n&0xFFFFF, n)
				r := store.Record{Key: key, SCN: 1, Data: data, Index: store.Index{
					PrescriptionID: key + "X", NHSNumber: "9449304130", Status: "0001", TreatmentType: "0001",
					NominatedODS: "FCG71", PrescriberODS: "A83008", NextActivity: "expire", NextActivityAt: "20250914",
					CreatedAt: time.Now(), UpdatedAt: time.Now()}}
				m := store.Message{ID: ids.NewUUID(), Interaction: "PORX_IN020101SM31", RecordKey: key, Sender: "200000001285",
					ReceivedAt: time.Now(), Raw: raw, Response: ack, ResponseInteraction: "MCCI_IN010000UK13", Outcome: "AA"}
				err := s.Update(ctx, func(tx store.Tx) error {
					if err := tx.PutRecord(ctx, r, 0); err != nil {
						return err
					}
					return tx.PutMessage(ctx, m)
				})
				if err != nil {
					failMu.Lock()
					failed = cmp.Or(failed, err)
					failMu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed != nil {
		b.Fatalf("Update: %v", failed)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
}
