// Test client in Go (standard library only: crypto/tls, net/http). Go does not use OpenSSL:
// its TLS plaintext passes through crypto/tls.(*Conn).Write / Read, which the probe finds with
// probe-ebpf/src/gotls.rs.
//
//	client [-h1] [-stream] [-n COUNT] [-connect 127.0.0.1:PORT] [-H 'Name: value']... URL BODY|@FILE
//
// COUNT POSTs of BODY (or of FILE's content) to URL, one after the other on one keep-alive
// connection. HTTP/2 is negotiated by ALPN (the default transport, ForceAttemptHTTP2) unless
// -h1 asks for an HTTP/1.1-only transport. -stream reads each response body incrementally in
// small reads (as an SSE consumer does) and prints how many reads it took; otherwise the body
// is read whole. -connect dials that address whatever URL's host is, so URL can carry a
// provider's host name (SNI, certificate check and Host header) while the server listens on
// loopback. The CA to trust comes from SSL_CERT_FILE, which Go reads on Linux.
//
// Test tooling: it dials loopback addresses only and refuses any other.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	h1 := flag.Bool("h1", false, "HTTP/1.1 only (no h2 in ALPN)")
	stream := flag.Bool("stream", false, "read each response body incrementally")
	count := flag.Int("n", 1, "number of POSTs on one connection")
	connect := flag.String("connect", "", "dial this loopback host:port instead of URL's host")
	var extra headers
	flag.Var(&extra, "H", "extra request header 'Name: value' (repeatable)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: client [-h1] [-stream] [-n COUNT] [-connect 127.0.0.1:PORT] [-H 'Name: value']... URL BODY|@FILE")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	url, bodyArg := flag.Arg(0), flag.Arg(1)
	body := []byte(bodyArg)
	if strings.HasPrefix(bodyArg, "@") {
		b, err := os.ReadFile(bodyArg[1:])
		if err != nil {
			fail(err)
		}
		body = b
	}

	dialer := &net.Dialer{Timeout: 10 * time.Second}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if *connect != "" {
			addr = *connect
		}
		if err := loopbackOnly(addr); err != nil {
			return nil, err
		}
		return dialer.DialContext(ctx, network, addr)
	}
	tr := &http.Transport{
		DialContext:         dial,
		MaxIdleConnsPerHost: 1,
		MaxConnsPerHost:     1,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	if *h1 {
		// An empty non-nil TLSNextProto map turns HTTP/2 off; ALPN offers http/1.1 only.
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		tr.TLSClientConfig = &tls.Config{NextProtos: []string{"http/1.1"}}
	} else {
		// A custom DialContext disables h2 unless this is set.
		tr.ForceAttemptHTTP2 = true
	}
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}

	for i := 0; i < *count; i++ {
		req, err := http.NewRequest("POST", url, bytes.NewReader(body))
		if err != nil {
			fail(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for _, h := range extra {
			k, v, ok := strings.Cut(h, ":")
			if !ok {
				fail(fmt.Errorf("bad header %q", h))
			}
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		resp, err := client.Do(req)
		if err != nil {
			fail(err)
		}
		reads, n := 0, 0
		if *stream {
			r := bufio.NewReaderSize(resp.Body, 16)
			buf := make([]byte, 64)
			for {
				m, err := r.Read(buf)
				n += m
				if m > 0 {
					reads++
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					fail(err)
				}
			}
		} else {
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				fail(err)
			}
			n, reads = len(b), 1
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			fail(fmt.Errorf("status %d", resp.StatusCode))
		}
		fmt.Printf("ok %d %s %d bytes %d reads\n", i+1, resp.Proto, n, reads)
	}
	tr.CloseIdleConnections()
}

// loopbackOnly refuses every address but 127.0.0.0/8, ::1 and localhost.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return errors.New("test client: refusing to dial non-loopback address " + addr + " (use -connect 127.0.0.1:PORT)")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "client:", err)
	os.Exit(1)
}
