package httpcheck_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gxl-dev/gxl/internal/gxltest"
)

// TestCheck counts the probes: attempts is the number of tries in total,
// and the old `retries: N` still means N+1 tries.
func TestCheck(t *testing.T) {
	var calls, healthyFrom int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n, h := atomic.AddInt32(&calls, 1), atomic.LoadInt32(&healthyFrom); h == 0 || n < h {
			w.WriteHeader(503)
			return
		}
		w.Write([]byte(`{"status":"UP"}`))
	}))
	defer srv.Close()
	prog := `
mod envs { env default { } }
mod main {
    flow ok { http.check(url: "${URL}/health", body: "\"UP\"", attempts: 5, delay: "1ms"); }
    flow three { http.check(url: "${URL}/health", attempts: 3, delay: "1ms", backoff: 2.0, max_delay: "2ms"); }
    flow old { http.check(url: "${URL}/health", retries: 1, interval: "1ms"); }
    flow bad_policy { http.check(url: "${URL}/health", attempts: "${ZERO}"); }
}`
	// bad_policy's 0 comes from a variable: a constant 0 is a check
	// error (testdata/check/retry_values.txtar), this one the run's.
	vars := map[string]string{"URL": srv.URL, "ZERO": "0"}
	for _, tc := range []struct {
		flow        string
		healthyFrom int32
		calls       int32
		err         string
	}{
		{"ok", 3, 3, ""},
		{"three", 0, 3, "after 3 attempts: status 503, want 200"},
		{"old", 0, 2, "after 2 attempts: status 503, want 200"},
		{"bad_policy", 0, 0, "attempts must be at least 1"},
	} {
		t.Run(tc.flow, func(t *testing.T) {
			atomic.StoreInt32(&calls, 0)
			atomic.StoreInt32(&healthyFrom, tc.healthyFrom)
			out, err := gxltest.Run(t, prog, tc.flow, vars)
			if got := atomic.LoadInt32(&calls); got != tc.calls {
				t.Errorf("probes = %d, want %d", got, tc.calls)
			}
			if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("err = %v, want %q\n%s", err, tc.err, out)
			}
		})
	}
}
