package httpapi_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/httpapi"
)

// TestGracefulShutdownFinishesInFlightRequests cancels the server while a
// request is being handled; the request still completes, and Serve
// returns once it has.
func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	s := newServer(t, nil, nil)
	entered := make(chan struct{})
	httpapi.Register(s.API, huma.Operation{OperationID: "slow", Method: http.MethodGet, Path: "/api/slow/"}, httpapi.Public,
		func(ctx context.Context, _ *struct{}) (*echoOutput, error) {
			close(entered)
			time.Sleep(300 * time.Millisecond)
			out := &echoOutput{}
			out.Body.Name = "done"
			return out, nil
		})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	type result struct {
		status int
		body   string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/api/slow/")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- result{status: resp.StatusCode, body: string(b)}
	}()
	<-entered
	cancel()
	r := <-got
	if r.err != nil || r.status != 200 || r.body != `{"name":"done"}`+"\n" {
		t.Fatalf("in-flight request: %+v", r)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Error("server still accepting after shutdown")
	}
}
