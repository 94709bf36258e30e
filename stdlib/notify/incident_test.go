package notify_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/internal/gxltest"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// TestIncident: an incident opens once however often its check fails,
// resolves once when it passes again, with the same id (the dedup key of
// its alerts), and its state lives in the system's .gxl/incidents across
// runs — each call below is a separate run.
func TestIncident(t *testing.T) {
	root := t.TempDir()
	host := builtin.Host{SysRoot: root}
	prog := `
mod envs { env default { } }
mod main {
    flow fail {
        notify.incident("health_check", state: "open", summary: "postgres_primary failed (pw ${SEC_PW})");
        gx.echo("open changed=${INCIDENT.changed} open=${INCIDENT.open} id=${INCIDENT.id}");
    }
    flow ok {
        notify.incident(key: "health_check", state: "resolved", out: "INC");
        gx.echo("resolved changed=${INC.changed} open=${INC.open} id=${INC.id}");
    }
    flow bad {
        notify.incident(key: "../x", state: "open");
    }
}`
	vars := map[string]value.Value{"SEC_PW": value.Str("hunter2")}
	step := func(flow string) string {
		t.Helper()
		out, log, err := gxltest.RunLog(t, prog, flow, host, vars)
		if err != nil {
			t.Fatalf("%s: %v\n%s", flow, err, log)
		}
		return strings.TrimSpace(out)
	}
	if got := step("ok"); got != "resolved changed=false open=false id=" {
		t.Errorf("resolve with nothing open: %q", got)
	}
	first := step("fail")
	if !strings.HasPrefix(first, "open changed=true open=true id=health_check-") {
		t.Fatalf("first failure: %q", first)
	}
	id := strings.TrimPrefix(first, "open changed=true open=true id=")
	file := filepath.Join(root, ".gxl", "incidents", "health_check.json")
	b, err := os.ReadFile(file)
	if err != nil || strings.Contains(string(b), "hunter2") || !strings.Contains(string(b), "pw ***") {
		t.Errorf("incident file %s: %q %v (want the summary masked)", file, b, err)
	}
	if got := step("fail"); got != "open changed=false open=true id="+id {
		t.Errorf("second failure: %q, want the same incident unchanged", got)
	}
	if got := step("ok"); got != "resolved changed=true open=false id="+id {
		t.Errorf("recovery: %q, want the incident %s resolved", got, id)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("the incident file is still there: %v", err)
	}
	if got := step("ok"); got != "resolved changed=false open=false id=" {
		t.Errorf("second recovery: %q", got)
	}

	_, _, err = gxltest.RunLog(t, prog, "bad", host, nil)
	if err == nil || !strings.Contains(err.Error(), `key "../x" is not a name`) {
		t.Errorf("a key that is no name: %v", err)
	}
}

// TestIncidentOnce: of calls opening one incident at the same time, one
// opens it (modules of a stage failing together).
func TestIncidentOnce(t *testing.T) {
	root := t.TempDir()
	prog := `
mod envs { env default { } }
mod main {
    flow fail {
        notify.incident("db", state: "open");
        gx.echo("changed=${INCIDENT.changed}");
    }
}`
	var wg sync.WaitGroup
	outs := make([]string, 8)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, _, err := gxltest.RunLog(t, prog, "fail", builtin.Host{SysRoot: root}, nil)
			if err != nil {
				t.Error(err)
			}
			outs[i] = out
		}()
	}
	wg.Wait()
	if n := strings.Count(strings.Join(outs, ""), "changed=true"); n != 1 {
		t.Errorf("%d calls opened the incident, want 1: %q", n, outs)
	}
}
