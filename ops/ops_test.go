package ops

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "probe_total", Help: "h"})
	reg.MustRegister(c)
	c.Add(3)
	var notReady atomic.Bool
	notReady.Store(true)
	srv := New("", reg, func(context.Context) error {
		if notReady.Load() {
			return errors.New("kafka unreachable")
		}
		return nil
	}, zerolog.Nop())
	get, stop := serve(t, srv)
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "kafka unreachable") {
		t.Errorf("/readyz = %d %q, want 503 with the reason", code, body)
	}
	notReady.Store(false)
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz = %d once ready", code)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "probe_total 3") {
		t.Errorf("/metrics = %d %q", code, body)
	}
	if err := stop(); err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
}

// serve runs srv on a free loopback port until stop, which returns what
// Serve returned; get asks it for path and returns the status and body.
func serve(t *testing.T, srv *Server) (get func(path string) (int, string), stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	get = func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	return get, func() error { cancel(); return <-done }
}
