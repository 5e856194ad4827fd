// Package depspin pins the modules the packages being written will import, so
// that go.sum holds them before their first user lands. It is removed once
// every module here has a real importer.
package depspin

import (
	_ "github.com/beevik/etree"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/pressly/goose/v3"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/russellhaering/goxmldsig"
	_ "modernc.org/sqlite"
	_ "pgregory.net/rapid"
)
