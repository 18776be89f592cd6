package imagefetch

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

var png = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

func TestFetch_ReadsTheImageAndItsType(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cat.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(png)
		case "/untyped":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(png)
		case "/moved":
			http.Redirect(w, r, "/cat.png", http.StatusFound)
		case "/huge":
			w.Header().Set("Content-Type", "image/png")
			w.Write(bytes.Repeat([]byte{1}, MaxBytes+1))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	f := NewForTests()
	ctx := context.Background()
	for _, path := range []string{"/cat.png", "/untyped", "/moved"} {
		img, err := f.Fetch(ctx, srv.URL+path)
		if err != nil || img.MediaType != "image/png" || !bytes.Equal(img.Data, png) {
			t.Fatalf("%s: %+v %v", path, img, err)
		}
	}
	for path, want := range map[string]string{"/huge": "larger than", "/gone": "answered 404"} {
		if _, err := f.Fetch(ctx, srv.URL+path); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: %v, want %q", path, err, want)
		}
	}
	if _, err := f.Fetch(ctx, "file:///etc/passwd"); err == nil {
		t.Fatal("a file URL was fetched")
	}
}

func TestFetch_RefusesAddressesThatAreNotPublic(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(png) }))
	defer srv.Close()
	f := New()
	for _, u := range []string{srv.URL, "http://localhost:" + strings.Split(srv.URL, ":")[2], "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]:1/"} {
		if _, err := f.Fetch(context.Background(), u); !errors.Is(err, ErrInternalAddress) {
			t.Errorf("%s: %v", u, err)
		}
	}
	for addr, want := range map[string]bool{"8.8.8.8": true, "2001:4860:4860::8888": true, "192.168.1.1": false, "100.64.0.1": false,
		"fd00::1": false, "fe80::1": false, "0.0.0.0": false, "::ffff:127.0.0.1": false, "224.0.0.1": false} {
		if got := public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("public(%s) = %v", addr, got)
		}
	}
}
