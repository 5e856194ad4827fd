package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/postgres"
	"github.com/openeps/openeps/internal/store/storetest"
	"github.com/openeps/openeps/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t testing.TB, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, pgtest.DSN(t)) })
}

func TestRestartKeepsEverything(t *testing.T) {
	dsn := pgtest.DSN(t)
	storetest.Durability(t, func(t *testing.T) store.Store { return open(t, dsn) })
}

// Several instances starting at once on a fresh database all come up, with
// one schema between them (there is no advisory lock to take turns).
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	dsn := pgtest.DSN(t)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	dbs := make([]*postgres.DB, len(errs))
	for i := range errs {
		wg.Go(func() { dbs[i], errs[i] = postgres.Open(context.Background(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	ctx := context.Background()
	if err := dbs[0].Update(ctx, func(tx store.Tx) error {
		return tx.PutRecord(ctx, store.Record{Key: "K", SCN: 1}, 0)
	}); err != nil {
		t.Fatal(err)
	}
	if err := dbs[5].View(ctx, func(tx store.ReadTx) error { _, err := tx.Record(ctx, "K"); return err }); err != nil {
		t.Fatalf("a record written through one instance is not seen through another: %v", err)
	}
}

func TestOpenErrorsDoNotLeakPasswords(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{
		"postgres://eps:s3cret-pw@127.0.0.1:1/eps?sslmode=disable&connect_timeout=2",
		"postgres://eps:s3cret-pw@[::1:bad/eps",
	} {
		db, err := postgres.Open(ctx, dsn)
		if err == nil {
			db.Close()
			t.Fatalf("Open(%q) succeeded", dsn)
		}
		if strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("error reveals the password: %v", err)
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			storetest.BenchmarkUpdate(b, open(b, pgtest.DSN(b)), writers)
		})
	}
}
