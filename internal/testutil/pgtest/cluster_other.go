//go:build !unix

package pgtest

import "errors"

type localCluster struct{ dsn string }

func (c *localCluster) stop() error { return nil }

func startCluster() (*localCluster, error) {
	return nil, errors.New("a throw-away PostgreSQL cluster can only be started on Unix; set " + EnvServer +
		" to the DSN of a server the tests may create databases on")
}
