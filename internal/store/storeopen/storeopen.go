// Package storeopen opens the store a DSN names, choosing the backend from its
// form. It is what `eps serve --db` calls (default "sqlite:eps.db"); it is
// separate from package store so that only the binary, not every user of the
// interface, links both database drivers.
package storeopen

import (
	"context"
	"fmt"
	"strings"

	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/postgres"
	"github.com/openeps/openeps/internal/store/sqlite"
)

// Forms lists the DSN forms Open accepts, for help texts and errors.
const Forms = "sqlite:PATH, sqlite://PATH, file:PATH, a path ending in .db (SQLite), " +
	"or postgres://… / postgresql://… (PostgreSQL)"

// Backend says which store a DSN names.
type Backend string

const (
	SQLite   Backend = "sqlite"
	Postgres Backend = "postgres"
)

// Parse says which backend dsn names and returns what that backend's Open
// takes: the file path for SQLite, the DSN itself for PostgreSQL.
func Parse(dsn string) (Backend, string, error) {
	d := strings.TrimSpace(dsn)
	lower := strings.ToLower(d)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return Postgres, d, nil
	case strings.HasPrefix(lower, "sqlite://"):
		return sqlitePath(dsn, d[len("sqlite://"):])
	case strings.HasPrefix(lower, "sqlite:"):
		return sqlitePath(dsn, d[len("sqlite:"):])
	case strings.HasPrefix(lower, "file://"):
		return sqlitePath(dsn, d[len("file://"):])
	case strings.HasPrefix(lower, "file:"):
		return sqlitePath(dsn, d[len("file:"):])
	case strings.HasSuffix(lower, ".db") && !strings.Contains(d, "://"):
		return sqlitePath(dsn, d)
	}
	return "", "", fmt.Errorf("store DSN %q: not a form I know; use %s", redact(dsn), Forms)
}

// sqlitePath checks what follows the scheme: a plain path. Query parameters
// are refused rather than silently taken as part of the file name; the
// store sets its own pragmas.
func sqlitePath(dsn, path string) (Backend, string, error) {
	if path == "" {
		return "", "", fmt.Errorf("store DSN %q: no file path after the scheme (e.g. sqlite:eps.db or sqlite:///var/lib/eps/eps.db)", dsn)
	}
	if strings.ContainsAny(path, "?#") {
		return "", "", fmt.Errorf("store DSN %q: the SQLite form takes a plain file path, without ?options", dsn)
	}
	return SQLite, path, nil
}

// redact hides a password in a DSN that looks like a URL.
func redact(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return dsn
	}
	if name, _, hasPw := strings.Cut(userinfo, ":"); hasPw {
		return scheme + "://" + name + ":xxxxx@" + host
	}
	return dsn
}

// Open opens the store dsn names and brings its schema up to date.
func Open(ctx context.Context, dsn string) (store.Store, error) {
	backend, target, err := Parse(dsn)
	if err != nil {
		return nil, err
	}
	switch backend {
	case Postgres:
		return postgres.Open(ctx, target)
	default:
		return sqlite.Open(ctx, target)
	}
}
