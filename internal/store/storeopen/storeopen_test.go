package storeopen_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/postgres"
	"github.com/openeps/openeps/internal/store/sqlite"
	"github.com/openeps/openeps/internal/store/storeopen"
	"github.com/openeps/openeps/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestParse(t *testing.T) {
	for _, c := range []struct {
		dsn     string
		backend storeopen.Backend
		target  string
	}{
		{"sqlite:eps.db", storeopen.SQLite, "eps.db"},
		{"sqlite:/var/lib/eps/eps.db", storeopen.SQLite, "/var/lib/eps/eps.db"},
		{"sqlite:///var/lib/eps/eps.db", storeopen.SQLite, "/var/lib/eps/eps.db"},
		{"sqlite://data/eps.sqlite", storeopen.SQLite, "data/eps.sqlite"},
		{"SQLite:eps.db", storeopen.SQLite, "eps.db"},
		{"file:eps.db", storeopen.SQLite, "eps.db"},
		{"file:///tmp/x/eps.db", storeopen.SQLite, "/tmp/x/eps.db"},
		{"eps.db", storeopen.SQLite, "eps.db"},
		{"/srv/eps/store.db", storeopen.SQLite, "/srv/eps/store.db"},
		{"./rel dir/eps.DB", storeopen.SQLite, "./rel dir/eps.DB"},
		{"postgres://eps@db.internal:5432/eps?sslmode=verify-full", storeopen.Postgres, "postgres://eps@db.internal:5432/eps?sslmode=verify-full"},
		{"postgresql://eps:pw@localhost/eps", storeopen.Postgres, "postgresql://eps:pw@localhost/eps"},
	} {
		backend, target, err := storeopen.Parse(c.dsn)
		if err != nil || backend != c.backend || target != c.target {
			t.Errorf("Parse(%q) = %s, %q, %v; want %s, %q", c.dsn, backend, target, err, c.backend, c.target)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, dsn := range []string{
		"", "   ", "eps", "eps.sqlite3", "mysql://eps:hunter2@db/eps", "sqlite:", "sqlite://", "file:",
		"sqlite:eps.db?_pragma=journal_mode(DELETE)", "http://example.com/eps.db", "host=db user=eps",
	} {
		_, _, err := storeopen.Parse(dsn)
		if err == nil {
			t.Errorf("Parse(%q) accepted", dsn)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Parse(%q): the error reveals the password: %v", dsn, err)
		}
	}
	_, _, err := storeopen.Parse("mongodb://x")
	if err == nil || !strings.Contains(err.Error(), "sqlite:PATH") || !strings.Contains(err.Error(), "postgres://") {
		t.Errorf("the error for an unknown form does not name the accepted forms: %v", err)
	}
}

func TestOpenSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eps.db")
	s, err := storeopen.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*sqlite.DB); !ok {
		t.Fatalf("sqlite: DSN opened a %T", s)
	}
	roundTrip(t, s)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no database file at %s: %v", path, err)
	}
}

func TestOpenPostgres(t *testing.T) {
	s, err := storeopen.Open(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*postgres.DB); !ok {
		t.Fatalf("postgres:// DSN opened a %T", s)
	}
	roundTrip(t, s)
}

func roundTrip(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	if err := s.Update(ctx, func(tx store.Tx) error {
		return tx.PutRecord(ctx, store.Record{Key: "ABC123-A83008-1234", SCN: 1, Data: []byte("{}")}, 0)
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.View(ctx, func(tx store.ReadTx) error {
		_, err := tx.Record(ctx, "ABC123-A83008-1234")
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
