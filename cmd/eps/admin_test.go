package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/prescribe"
	"github.com/openeps/openeps/internal/spine"
	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/sqlite"
)

func runEPS(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(epsBinary, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("eps %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestAdminSweep: a prescription made on 1 February 2022 is expired by
// `eps admin sweep --now` six months on, and a second sweep finds nothing due.
func TestAdminSweep(t *testing.T) {
	db := filepath.Join(t.TempDir(), "eps.db")
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2022, 2, 1, 9, 0, 0, 0, time.UTC)
	svc, err := spine.New(spine.Config{Store: st, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	p := prescribe.Example(at, "FA565")
	raw, err := prescribe.Build(&p)
	if err != nil {
		t.Fatal(err)
	}
	reply, err := svc.Handle(context.Background(), spine.Inbound{Payload: raw})
	if err != nil || reply.Outcome != hl7v3.AckAccepted {
		t.Fatalf("%v %s", err, reply.Outcome)
	}
	st.Close()

	later := at.AddDate(0, 6, 2).Format(time.RFC3339)
	if out := runEPS(t, "admin", "sweep", "--db", "sqlite:"+db, "--now", later); !strings.Contains(out, "1 due, 1 changed, 0 deleted") {
		t.Errorf("first sweep: %s", out)
	}
	if out := runEPS(t, "admin", "sweep", "--db", "sqlite:"+db, "--now", later); !strings.Contains(out, "0 due, 0 changed, 0 deleted") {
		t.Errorf("second sweep: %s", out)
	}
}

// TestAdminOutboxRetry: a delivery that ran out of retries is listed as
// failed, requeued by `eps admin outbox retry`, and then pending.
func TestAdminOutboxRetry(t *testing.T) {
	db := filepath.Join(t.TempDir(), "eps.db")
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(context.Background(), func(tx store.Tx) error {
		return tx.Enqueue(context.Background(), store.OutboxItem{ID: "7F1D0C1E-0000-4000-8000-000000000001",
			Destination: "FA565-807311", Interaction: "PORX_IN070101UK31", Body: []byte("<x/>"),
			State: store.OutboxFailed, Attempts: 3, LastError: "connection refused"})
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	dsn := "sqlite:" + db
	if out := runEPS(t, "admin", "outbox", "list", "--db", dsn, "--state", "failed"); !strings.Contains(out, "7F1D0C1E") ||
		!strings.Contains(out, "connection refused") {
		t.Errorf("list failed:\n%s", out)
	}
	if out := runEPS(t, "admin", "outbox", "retry", "--db", dsn); !strings.HasPrefix(out, "1 failed deliveries requeued") {
		t.Errorf("retry: %s", out)
	}
	if out := runEPS(t, "admin", "outbox", "list", "--db", dsn, "--state", "pending"); !strings.Contains(out, "7F1D0C1E") {
		t.Errorf("after retry, not pending:\n%s", out)
	}
}
