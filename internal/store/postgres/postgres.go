// Package postgres is the store backend for PostgreSQL, through pgx. Its SQL
// keeps to what distributed PostgreSQL-compatible engines also run (no
// advisory locks, no LISTEN/NOTIFY), so a user who outgrows one server can
// move to one of them.
//
// Transactions run at the server's default isolation (READ COMMITTED on
// PostgreSQL, SERIALIZABLE on some distributed engines). Correctness does not
// rest on the level: every record write is conditional on the SCN, creates
// and message IDs on unique keys, and Record inside Update locks the row (FOR
// UPDATE) so that concurrent read-modify-writes of one record queue rather
// than collide. Update retries fn on store.ErrConflict, serialisation failure
// (40001) and deadlock (40P01), a bounded number of times with jittered
// backoff.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/openeps/openeps/internal/store"
	"github.com/openeps/openeps/internal/store/internal/sqlkit"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a store.Store in a PostgreSQL database.
type DB struct {
	pool        *pgxpool.Pool
	maxAttempts int
	mu          sync.RWMutex
	closed      bool
}

var _ store.Store = (*DB)(nil)

// Retry policy: enough attempts that a burst of writers on one hot record
// gets through, with backoff short enough not to stall a request.
const (
	maxAttempts = 12
	backoffBase = time.Millisecond
	backoffMax  = 100 * time.Millisecond
)

// Open connects to the database dsn names (a postgres:// URL or a keyword/value
// DSN; pgxpool settings such as pool_max_conns may be given in it) and brings
// its schema up to date.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message can quote the DSN, password included.
		return nil, errors.New("postgres store: cannot parse the DSN (want postgres://user:password@host:port/database?sslmode=...)")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres store %s: %w", where(cfg), err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres store %s: %w", where(cfg), err)
	}
	return &DB{pool: pool, maxAttempts: maxAttempts}, nil
}

// where names the server and database for messages, without credentials.
func where(cfg *pgxpool.Config) string {
	return fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
}

// migrate applies the embedded migrations. Two processes starting on a fresh
// database may race to create the tables (there is no advisory lock to
// serialise them); the loser's attempt fails on the catalog, and on a second
// look it finds the schema in place.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	var last error
	for attempt := 1; attempt <= 5; attempt++ {
		p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithDisableGlobalRegistry(true))
		if err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		if _, last = p.Up(ctx); last == nil {
			return nil
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(sqlkit.Backoff(attempt, 20*time.Millisecond, 500*time.Millisecond))
	}
	return fmt.Errorf("migrations: %w", last)
}

// Update runs fn in a transaction and commits it, retrying on conflicts.
func (d *DB) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := d.check(); err != nil {
		return err
	}
	var err error
	for attempt := 1; ; attempt++ {
		if err = ctx.Err(); err != nil {
			return err
		}
		if err = d.attempt(ctx, fn); err == nil || !retryable(err) {
			return err
		}
		if attempt == d.maxAttempts {
			return fmt.Errorf("postgres store: gave up after %d attempts: %w", attempt, err)
		}
		select {
		case <-time.After(sqlkit.Backoff(attempt, backoffBase, backoffMax)):
		case <-ctx.Done():
			return fmt.Errorf("%w (retrying after: %v)", ctx.Err(), err)
		}
	}
}

func (d *DB) attempt(ctx context.Context, fn func(store.Tx) error) error {
	ptx, err := d.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return fmt.Errorf("postgres store: begin: %w", err)
	}
	tx := &writeTx{readTx{tx: ptx, forUpdate: " FOR UPDATE"}}
	committed := false
	defer func() {
		tx.finish()
		if !committed {
			// Also runs while a panic unwinds: the connection goes back to
			// the pool clean.
			_ = ptx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	tx.finish()
	if err := ptx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres store: commit: %w", err)
	}
	committed = true
	return nil
}

// retryable reports whether running fn again in a new transaction may succeed.
func retryable(err error) bool {
	if errors.Is(err, store.ErrConflict) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "40001", // serialization_failure
			"40P01": // deadlock_detected
			return true
		}
	}
	return false
}

// View runs fn in a read-only REPEATABLE READ transaction: one snapshot.
func (d *DB) View(ctx context.Context, fn func(tx store.ReadTx) error) error {
	if err := d.check(); err != nil {
		return err
	}
	ptx, err := d.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres store: begin read: %w", err)
	}
	tx := &readTx{tx: ptx}
	defer func() {
		tx.finish()
		_ = ptx.Rollback(context.WithoutCancel(ctx))
	}()
	return fn(tx)
}

// Ping reports whether the server answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.check(); err != nil {
		return err
	}
	if err := d.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres store: ping: %w", err)
	}
	return nil
}

// Close closes the pool, waiting for connections in use to come back. It is
// safe to call more than once.
func (d *DB) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.pool.Close()
	return nil
}

func (d *DB) check() error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return fmt.Errorf("postgres store: %w", store.ErrClosed)
	}
	return nil
}
