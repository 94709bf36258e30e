package httpcheck_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/gxl-dev/gxl/internal/gxltest"
)

func TestCheck(t *testing.T) {
	var calls int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Unhealthy for the first two probes, then healthy.
		if atomic.AddInt32(&calls, 1) < 3 {
			w.WriteHeader(503)
			return
		}
		w.Write([]byte(`{"status":"UP"}`))
	}))
	defer srv.Close()
	prog := `
mod envs { env default { } }
mod main {
    flow ok { http.check(url: "${URL}/health", body: "\"UP\"", retries: 5, interval: "10ms"); }
    flow bad { http.check(url: "${URL}/health", status: 201, retries: 1, interval: "10ms"); }
}`
	vars := map[string]string{"URL": srv.URL}
	if out, err := gxltest.Run(t, prog, "ok", vars); err != nil {
		t.Fatalf("ok: %v\n%s", err, out)
	}
	if _, err := gxltest.Run(t, prog, "bad", vars); err == nil {
		t.Fatal("bad status passed")
	}
}
