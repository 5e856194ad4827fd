package sqlite_test

import (
	"fmt"
	"testing"

	"github.com/openeps/openeps/internal/store/sqlite"
	"github.com/openeps/openeps/internal/store/storetest"
)

// BenchmarkUpdate compares group commit with one transaction per Update.
//
//	go test -run XXX -bench Update ./internal/store/sqlite/
func BenchmarkUpdate(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts []sqlite.Option
	}{
		{"group", nil},
		{"single", []sqlite.Option{sqlite.WithMaxBatch(1)}},
	} {
		for _, writers := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/writers=%d", mode.name, writers), func(b *testing.B) {
				db, err := sqlite.Open(b.Context(), b.TempDir()+"/eps.db", mode.opts...)
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				storetest.BenchmarkUpdate(b, db, writers)
			})
		}
	}
}
