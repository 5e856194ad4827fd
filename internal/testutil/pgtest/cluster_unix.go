//go:build unix

package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// localCluster is a PostgreSQL server this process started.
type localCluster struct {
	dir    string
	dsn    string
	proc   *os.Process
	exited chan struct{}
	logf   string
}

func findBinaries() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Highest major version first.
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if v, _ := strconv.Atoi(filepath.Base(filepath.Dir(d))); v < 15 {
			continue // CREATE DATABASE ... STRATEGY needs 15
		}
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server for the tests: set %s to the DSN of a server the tests may "+
		"create databases on (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable), or install the "+
		"server binaries, version 15 or later, so that /usr/lib/postgresql/<version>/bin/initdb exists (Debian/Ubuntu: apt-get install postgresql)", EnvServer)
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func startCluster() (*localCluster, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	if !mainRunning.Load() {
		return nil, errors.New("this package starts a throw-away PostgreSQL cluster but its TestMain does not call " +
			"pgtest.Main(m), which stops it; add: func TestMain(m *testing.M) { pgtest.Main(m) }")
	}
	// initdb and postgres refuse to run as root: run them as the postgres
	// user, in a directory it owns.
	var cred *syscall.Credential
	var uid, gid = -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, and PostgreSQL will not: there is no postgres user to run it as "+
				"(the Debian postgresql package creates one); or set %s", EnvServer)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	dir, err := os.MkdirTemp("", "openeps-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory for PostgreSQL: %w", err)
	}
	c := &localCluster{dir: dir, logf: filepath.Join(dir, "postgres.log")}
	fail := func(err error) (*localCluster, error) {
		_ = c.stop()
		return nil, err
	}
	if uid >= 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			return fail(fmt.Errorf("hand %s to the postgres user: %w", dir, err))
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb in %s: %w\n%s", dir, err, out))
	}
	var lastErr error
	for range 3 { // another process may take the free port before postgres binds it
		port, err := freePort()
		if err != nil {
			return fail(err)
		}
		if lastErr = c.run(bin, data, port, cred); lastErr == nil {
			return c, nil
		}
	}
	return fail(lastErr)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port for PostgreSQL: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// run starts postgres on port and waits until it accepts connections.
func (c *localCluster) run(bin, data string, port int, cred *syscall.Credential) error {
	logf, err := os.OpenFile(c.logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", c.dir,
		"-c", "listen_addresses=127.0.0.1",
		// A throw-away cluster: durability is not wanted, speed is.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=400", "-c", "shared_buffers=64MB",
		"-c", "log_min_messages=warning", "-c", "logging_collector=off")
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group keeps a terminal's ^C to the test run from
	// reaching it before Main has stopped it cleanly.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	setParentDeathSignal(cmd.SysProcAttr)
	// The parent-death signal fires when the thread that started the child
	// exits, so start it from a thread that stays put until the child is gone.
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer close(exited)
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	c.proc, c.exited = cmd.Process, exited
	c.dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)

	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.dsn)
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(c.logf)
			c.proc = nil
			return fmt.Errorf("postgres exited during start-up:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(c.logf)
			return fmt.Errorf("postgres did not accept connections within 60s (last error: %v):\n%s", err, log)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// stop shuts the server down (fast shutdown, then kill) and removes its
// directory.
func (c *localCluster) stop() error {
	var errs []error
	if c.proc != nil {
		_ = c.proc.Signal(syscall.SIGINT) // fast shutdown: end sessions, no waiting
		select {
		case <-c.exited:
		case <-time.After(20 * time.Second):
			_ = c.proc.Kill()
			<-c.exited
			errs = append(errs, errors.New("postgres did not shut down within 20s; killed"))
		}
		c.proc = nil
	}
	if err := os.RemoveAll(c.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
