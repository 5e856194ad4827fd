// Package pgtest gives tests a real PostgreSQL: DSN returns a DSN to a fresh,
// empty database that is dropped when the test ends.
//
// The server is the one named by OPENEPS_TEST_POSTGRES (a DSN to a server on
// which the tests may create and drop databases), or else a throw-away
// cluster started once per test binary from the server binaries under
// /usr/lib/postgresql/*/bin, in a temporary directory, on a free loopback
// port, with fsync off. A package that uses DSN needs
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// so that the cluster is stopped and its directory removed when the tests
// end. If there is neither a server nor the binaries, DSN fails the test and
// says what to install or set: these tests never skip silently.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvServer names the variable holding a server DSN to use instead of a
// throw-away cluster.
const EnvServer = "OPENEPS_TEST_POSTGRES"

var (
	mainRunning atomic.Bool

	startOnce sync.Once
	cluster   *localCluster
	startErr  error
)

// Main runs the package's tests and then stops the cluster, if one was
// started. Call it from TestMain.
func Main(m *testing.M) {
	mainRunning.Store(true)
	code := m.Run()
	if cluster != nil {
		if err := cluster.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stopping the PostgreSQL test cluster: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// DSN returns a DSN to a new, empty database on the test server, dropped (with
// any connections still open to it) when tb ends.
func DSN(tb testing.TB) string {
	tb.Helper()
	server, err := serverDSN()
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "openeps_test_" + hex.EncodeToString(b[:])
	create := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if os.Getenv(EnvServer) == "" {
		// On the throw-away cluster (PostgreSQL 15 or later, fsync off),
		// copying the template's files beats writing them through the WAL.
		create += " STRATEGY FILE_COPY"
	}
	if err := admin(ctx, server, create); err != nil {
		tb.Fatalf("pgtest: create test database on %s: %v", redact(server), err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		drop := "DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize()
		// WITH (FORCE) ends connections a test left open; engines that do
		// not know it get the plain statement.
		if err := admin(ctx, server, drop+" WITH (FORCE)"); err != nil {
			if err2 := admin(ctx, server, drop); err2 != nil {
				tb.Errorf("pgtest: drop test database %s: %v", name, errors.Join(err, err2))
			}
		}
	})
	dsn, err := withDatabase(server, name)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return dsn
}

func admin(ctx context.Context, dsn, statement string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, statement)
	return err
}

// withDatabase returns dsn pointing at database name instead.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("%s is not a valid URL: %w", EnvServer, err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// Keyword/value form: a later keyword overrides an earlier one.
	return dsn + " dbname=" + name, nil
}

// redact hides a password in a DSN for error messages.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return dsn
}

func serverDSN() (string, error) {
	if env := os.Getenv(EnvServer); env != "" {
		return env, nil
	}
	startOnce.Do(func() { cluster, startErr = startCluster() })
	if startErr != nil {
		return "", startErr
	}
	return cluster.dsn, nil
}
