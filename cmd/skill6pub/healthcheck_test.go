package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/ops"
)

func TestHealthcheckAsksTheOpsServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := ops.New("", prometheus.NewRegistry(), func(context.Context) error { return errors.New("kafka unreachable") }, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	_, port, _ := net.SplitHostPort(ln.Addr().String())
	t.Setenv("HTTP_ADDR", ":"+port)
	var out bytes.Buffer
	if err := runHealthcheck(context.Background(), nil, &out, io.Discard); err != nil || !strings.Contains(out.String(), "ok") {
		t.Fatalf("healthcheck = %v, %q; want ok", err, out.String())
	}
	err = runHealthcheck(context.Background(), []string{"--ready"}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "kafka unreachable") {
		t.Fatalf("healthcheck --ready = %v; want the not-ready reason", err)
	}
	t.Setenv("HTTP_ADDR", "127.0.0.1:1")
	if err := runHealthcheck(context.Background(), nil, &out, io.Discard); err == nil {
		t.Fatal("healthcheck against nothing listening: no error")
	}
}
