package postgres

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// Queries is a package's SQL, one embedded file per statement
// (queries/<name>.sql): SQL lives in .sql files, not in Go strings.
type Queries struct {
	pkg string
	sql map[string]string
}

// LoadQueries reads every queries/*.sql file of fsys (the package's
// embed.FS). A broken embed is a build mistake: it panics, at init.
func LoadQueries(fsys fs.FS, pkg string) Queries {
	entries, err := fs.ReadDir(fsys, "queries")
	if err != nil {
		panic(fmt.Sprintf("%s: queries: %v", pkg, err))
	}
	q := Queries{pkg: pkg, sql: make(map[string]string, len(entries))}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		b, err := fs.ReadFile(fsys, "queries/"+e.Name())
		if err != nil {
			panic(fmt.Sprintf("%s: queries: %v", pkg, err))
		}
		q.sql[strings.TrimSuffix(e.Name(), ".sql")] = string(b)
	}
	return q
}

// Get returns the named statement; a name with no file panics (a typo,
// caught at init by the package-level variables that hold the queries).
func (q Queries) Get(name string) string {
	s, ok := q.sql[name]
	if !ok {
		panic(q.pkg + ": no query " + name)
	}
	return s
}
