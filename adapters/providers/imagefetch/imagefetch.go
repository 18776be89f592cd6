// Package imagefetch downloads an image a request names by URL, for the
// providers that take images only as bytes (Bedrock). It fetches from the
// public internet only: an address on a loopback, private, link-local or
// otherwise internal network is refused at every connection, redirects
// included, so a request cannot make the gateway read its own network.
package imagefetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// Limits of one fetch.
const (
	MaxBytes     = 3_750_000 // Bedrock's largest image
	Timeout      = 10 * time.Second
	maxRedirects = 3
)

// Image is a fetched image: its media type and bytes.
type Image struct {
	MediaType string
	Data      []byte
}

// Fetcher downloads images.
type Fetcher struct {
	client *http.Client
}

// ErrInternalAddress is a URL that leads to a non-public address.
var ErrInternalAddress = errors.New("the image URL leads to an address that is not public")

// New builds a fetcher that refuses non-public addresses.
func New() *Fetcher { return newFetcher(false) }

// NewForTests builds a fetcher that also reaches loopback and private
// addresses, where test servers listen.
func NewForTests() *Fetcher { return newFetcher(true) }

func newFetcher(allowInternal bool) *Fetcher {
	dialer := &net.Dialer{Timeout: Timeout, KeepAlive: 30 * time.Second}
	if !allowInternal {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !public(ap.Addr()) {
				return ErrInternalAddress
			}
			return nil
		}
	}
	return &Fetcher{client: &http.Client{
		Transport: &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: Timeout, ResponseHeaderTimeout: Timeout,
			MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("a redirect to a %s URL", req.URL.Scheme)
			}
			return nil
		},
	}}
}

// cgnat is the shared address space of carrier-grade NAT (RFC 6598).
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

func public(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsGlobalUnicast() && !a.IsPrivate() && !a.IsLoopback() && !a.IsLinkLocalUnicast() && !cgnat.Contains(a)
}

// Fetch downloads the image at rawURL (http or https), up to MaxBytes,
// within Timeout and ctx. Its media type is the answer's Content-Type, or
// sniffed from its bytes when that is missing or generic.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (Image, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Image{}, errors.New("the image URL must be an absolute http(s) URL")
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Image{}, err
	}
	req.Header.Set("Accept", "image/*")
	resp, err := f.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrInternalAddress) {
			return Image{}, ErrInternalAddress
		}
		return Image{}, fmt.Errorf("the image could not be fetched: %v", errors.Unwrap(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Image{}, fmt.Errorf("the image could not be fetched: its server answered %d", resp.StatusCode)
	}
	if resp.ContentLength > MaxBytes {
		return Image{}, fmt.Errorf("the image is larger than %d bytes", MaxBytes)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxBytes+1))
	if err != nil {
		return Image{}, fmt.Errorf("the image could not be read: %v", err)
	}
	if len(data) > MaxBytes {
		return Image{}, fmt.Errorf("the image is larger than %d bytes", MaxBytes)
	}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mediaType == "" || mediaType == "application/octet-stream" || mediaType == "binary/octet-stream" {
		mediaType, _, _ = mime.ParseMediaType(http.DetectContentType(data))
	}
	return Image{MediaType: mediaType, Data: data}, nil
}
