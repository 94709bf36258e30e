package pg_test

import (
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/internal/gxltest"
)

// TestRejoinRefusesProtectedData: pg.rejoin never hands pg_rewind the
// working directory, an ancestor of it, home or `/` as the data folder; the
// call fails at its position before anything runs.
func TestRejoinRefusesProtectedData(t *testing.T) {
	for _, data := range []string{".", "", "..", "/", "${HOME}"} {
		t.Run(data, func(t *testing.T) {
			src := `mod envs { env default { } }
mod main {
    flow rejoin {
        home = "${HOME:/}";
        pg.rejoin(data: "` + data + `", port: 5999, source: "host=127.0.0.1 port=1 user=x dbname=x", name: "n1", timeout: "2s");
    }
}
`
			_, err := gxltest.Run(t, src, "rejoin", nil)
			if err == nil || !strings.Contains(err.Error(), "work.gxl:5:9") || !strings.Contains(err.Error(), "refused, nothing was changed") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
