package redisha

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gxl-dev/gxl/internal/devstack"
)

func view(flags string, downAfter, lastOK string, others string) sentinelView {
	return sentinelView{addr: "s", master: map[string]string{"flags": flags, "down-after-milliseconds": downAfter,
		"last-ok-ping-reply": lastOK, "num-other-sentinels": others, "failover-state": "none"}}
}

func TestMayForce(t *testing.T) {
	ok := view("master", "6000", "3000", "2")
	soon := view("master", "6000", "4600", "2")
	busy := view("master,failover_in_progress", "6000", "3000", "2")
	for _, tc := range []struct {
		name  string
		views []sentinelView
		alive bool // the old master answers
		want  bool
		why   string
	}{
		{"every Sentinel far from its down-after", []sentinelView{ok, ok, ok}, false, true, ""},
		{"one failing over", []sentinelView{ok, busy, ok}, false, false, "is failing over"},
		{"one failing over, the master alive", []sentinelView{ok, busy, ok}, true, false, "is failing over"},
		{"one holds it for subjectively down", []sentinelView{ok, ok, view("master,s_down", "6000", "6100", "2")}, false, false, "holds the master for down"},
		{"one holds it for objectively down", []sentinelView{view("master,s_down,o_down", "6000", "6100", "2"), ok, ok}, false, false, "holds the master for down"},
		{"one within the margin", []sentinelView{ok, soon, ok}, false, false, "takes the master for down in 1.4s"},
		{"one within the margin, the master alive", []sentinelView{ok, soon, ok}, true, true, ""},
		{"one does not answer", []sentinelView{ok, {addr: "s2", err: context.DeadlineExceeded}, ok}, true, false, "does not answer"},
		{"a Sentinel not asked", []sentinelView{ok, ok}, true, false, "3 Sentinels watch the master, 2 were asked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := mayForce(tc.views, tc.alive)
			if got != tc.want || !strings.Contains(why, tc.why) {
				t.Errorf("mayForce = %v, %q; want %v, %q", got, why, tc.want, tc.why)
			}
		})
	}
}

// TestForceFailoverInProgress: a second SENTINEL FAILOVER while the first
// runs is answered -INPROG, which forceFailover reports as a failover
// going on (not started, no error) — real Sentinels.
func TestForceFailoverInProgress(t *testing.T) {
	ctx := context.Background()
	h, err := devstack.StartRedis(ctx, "", devstack.RedisOptions{Sentinels: 3, DownAfter: 30 * time.Second})
	if err != nil {
		t.Fatalf("start Redis with Sentinels: %v", err)
	}
	defer h.Cleanup()
	sc := redis.NewSentinelClient(&redis.Options{Addr: h.SentinelAddrs()[0]})
	defer sc.Close()
	if started, err := forceFailover(ctx, sc, h.MasterName); !started || err != nil {
		t.Fatalf("first SENTINEL FAILOVER: started %v, %v", started, err)
	}
	if started, err := forceFailover(ctx, sc, h.MasterName); started || err != nil {
		t.Fatalf("second SENTINEL FAILOVER during the first: started %v, %v; want a failover in progress", started, err)
	}
	if _, err := forceFailover(ctx, sc, "nosuchmaster"); err == nil {
		t.Fatal("SENTINEL FAILOVER of an unknown master: no error")
	}
}
