package test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/gatehouse/gatehouse"

// imports lists every import of the non-test Go files under dir.
func imports(t *testing.T, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(filepath.Join("..", dir), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out[path] = append(out[path], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func isStdlib(p string) bool { return !strings.Contains(strings.SplitN(p, "/", 2)[0], ".") }

// TestArchitecture_DomainImportsNoInfrastructure: the domain is pure Go; it
// may use the standard library (but not net/http), uuid, the transparency
// log's trees and signed notes (golang.org/x/mod/sumdb/tlog and note, pure
// computation), and itself.
func TestArchitecture_DomainImportsNoInfrastructure(t *testing.T) {
	for file, imps := range imports(t, "domain") {
		for _, p := range imps {
			allowed := (isStdlib(p) && p != "net/http") || p == "github.com/google/uuid" || strings.HasPrefix(p, module+"/domain/") ||
				p == "golang.org/x/mod/sumdb/tlog" || p == "golang.org/x/mod/sumdb/note"
			if !allowed {
				t.Errorf("%s imports %s: the domain must not depend on infrastructure", file, p)
			}
		}
	}
}

// TestArchitecture_AppDependsOnlyInward: use cases never reach adapters or ports.
func TestArchitecture_AppDependsOnlyInward(t *testing.T) {
	for file, imps := range imports(t, "app") {
		for _, p := range imps {
			for _, banned := range []string{module + "/adapters", module + "/ports", module + "/cmd", "github.com/jackc/pgx", "github.com/labstack/echo", "github.com/ThreeDotsLabs/watermill"} {
				if strings.HasPrefix(p, banned) {
					t.Errorf("%s imports %s: app must depend only on the domain and its own ports", file, p)
				}
			}
		}
	}
}
