package spine_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/prescribe"
	"github.com/openeps/openeps/internal/spine"
	"github.com/openeps/openeps/internal/store/sqlite"
)

// BenchmarkPrescriptionOverHTTP measures the whole path of one parent
// prescription through the service: ebXML over loopback HTTP, parse,
// decode, lifecycle, a durable SQLite commit (WAL, synchronous=FULL, group
// commit) and the answer — with as many concurrent senders as
// -cpu × GOMAXPROCS parallelism gives (b.RunParallel).
func BenchmarkPrescriptionOverHTTP(b *testing.B) {
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "eps.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2022, 2, 1, 9, 0, 0, 0, time.UTC)
	svc, err := spine.New(spine.Config{Store: st, Now: func() time.Time { return at.Add(time.Minute) }})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	// Messages are built before the clock starts: building is the
	// prescribing system's work, not the Spine's.
	bodies := make(chan [2][]byte, b.N)
	for range b.N {
		p := prescribe.Example(at, "FA565")
		raw, err := prescribe.Build(&p)
		if err != nil {
			b.Fatal(err)
		}
		ctype, body := ebxmlRequest(b, raw, "PORX_IN020101SM31")
		bodies <- [2][]byte{[]byte(ctype), body}
	}
	close(bodies)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m := <-bodies
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/reliablemessaging/reliablerequest", bytes.NewReader(m[1]))
			req.Header.Set("Content-Type", string(m[0]))
			req.Header.Set("SOAPAction", ebxml.ServiceMM+"/PORX_IN020101SM31")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !bytes.Contains(buf.Bytes(), []byte(`typeCode="AA"`)) {
				b.Errorf("HTTP %d: %.300s", resp.StatusCode, buf.Bytes())
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
