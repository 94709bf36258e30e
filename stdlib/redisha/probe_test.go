package redisha_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/gxl-dev/gxl/internal/devstack"
	"github.com/gxl-dev/gxl/internal/gxltest"
)

const probeProgram = `
mod envs { env default { } }
mod main {
    flow up {
        redis.down(addr: "${REDIS_PRIMARY:}", for: "0s", out: "D");
        gx.assert(value: "${D}", expect: "false", err: "redis.down: a server that answers is down");
    }
    flow down {
        redis.down(addr: "${REDIS_PRIMARY:}", for: "1s", interval: "200ms", out: "D");
        gx.assert(value: "${D}", expect: "true", err: "redis.down: a killed server is not down");
    }
}
`

// TestDownKeepsItsConnection: redis.down probes through one kept
// connection per server across runs; a server restarted behind it
// answers on the first probe after it (for: "0s" is one probe), and a
// killed server is down for the window through the kept connection.
func TestDownKeepsItsConnection(t *testing.T) {
	ctx := context.Background()
	h, err := devstack.StartRedis(ctx, "", devstack.RedisOptions{})
	if err != nil {
		t.Fatalf("start Redis: %v", err)
	}
	defer h.Cleanup()
	vars := h.Env()
	// clients lists the ids of the normal clients of the primary but the
	// asking one.
	clients := func() []string {
		t.Helper()
		c := redis.NewClient(&redis.Options{Addr: h.Primary.Addr()})
		defer c.Close()
		self, err := c.ClientID(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		list, err := c.Do(ctx, "CLIENT", "LIST", "TYPE", "normal").Text()
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
			id, _, _ := strings.Cut(strings.TrimPrefix(line, "id="), " ")
			if id != "" && id != strconv.FormatInt(self, 10) {
				ids = append(ids, id)
			}
		}
		return ids
	}
	up := func(when string) {
		t.Helper()
		if out, err := gxltest.Run(t, probeProgram, "up", vars); err != nil {
			t.Fatalf("%s: %v\n%s", when, err, out)
		}
	}

	up("first probe")
	kept := clients()
	if len(kept) != 1 {
		t.Fatalf("after a probe, clients %v: want the one kept connection", kept)
	}
	for range 3 {
		up("probe again")
	}
	if c := clients(); !slices.Equal(c, kept) {
		t.Fatalf("clients %v after more probes, want the kept one %v (a new connection per probe)", c, kept)
	}

	// Restarted behind the kept connection: up at the first probe.
	h.Primary.Kill()
	if err := h.Restart(ctx, h.Primary); err != nil {
		t.Fatal(err)
	}
	up("the first probe after a restart")
	if c := clients(); len(c) != 1 {
		t.Fatalf("clients %v after the restart: want one new kept connection", c)
	}

	// Killed with a kept connection: down for the window.
	h.Primary.Kill()
	if out, err := gxltest.Run(t, probeProgram, "down", vars); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
