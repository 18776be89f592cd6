// Package golden compares what a provider's translation produces with the
// files under its testdata: the expected output, reviewed once against
// the provider's API reference, and rewritten only with -update.
package golden

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden .out files from what the code produces")

// Check compares got with the file at path, or rewrites it under -update.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// JSON is v indented, for golden files a reviewer can read.
func JSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// Reindent is a JSON document indented the same way.
func Reindent(t testing.TB, doc []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, doc)
	}
	return JSON(t, v)
}

// Inputs lists the cases in testdata/dir whose names end in suffix.
func Inputs(t testing.TB, dir, suffix string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*"+suffix))
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s cases in testdata/%s", suffix, dir)
	}
	return files
}

// Read reads a case's input.
func Read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Transcript drains a translated stream and writes its chunks as an
// OpenAI stream carries them; a chunk that is not JSON is an error.
func Transcript(next func() ([]byte, error)) ([]byte, error) {
	var out bytes.Buffer
	for {
		c, err := next()
		if errors.Is(err, io.EOF) {
			return out.Bytes(), nil
		}
		if err != nil {
			return out.Bytes(), err
		}
		if !json.Valid(c) {
			return out.Bytes(), errors.New("a chunk is not JSON: " + string(c))
		}
		out.WriteString("data: ")
		out.Write(c)
		out.WriteString("\n\n")
	}
}
