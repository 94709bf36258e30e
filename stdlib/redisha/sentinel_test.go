package redisha

import (
	"context"
	"errors"
	"strconv"
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

func named(addr, current, epoch, others string) sentinelView {
	return sentinelView{addr: addr, current: current, master: map[string]string{"config-epoch": epoch, "num-other-sentinels": others}}
}

// TestSwitched: the new master is the one a majority of the Sentinels
// name at one config epoch newer than the old master's — not the leader's
// word alone (the others learn it from its hello messages), and never a
// master named at an epoch no newer than the one being left.
func TestSwitched(t *testing.T) {
	ctx := context.Background()
	const old, nw = "127.0.0.1:7000", "127.0.0.1:7001"
	down := sentinelView{addr: "s3", err: context.DeadlineExceeded}
	for _, tc := range []struct {
		name      string
		views     []sentinelView
		left      int64
		want      string
		wantEpoch int64
		err       string
	}{
		{"none switched", []sentinelView{named("s1", old, "1", "2"), named("s2", old, "1", "2"), named("s3", old, "1", "2")}, 1, "", 0, ""},
		{"the leader alone", []sentinelView{named("s1", nw, "2", "2"), named("s2", old, "1", "2"), named("s3", old, "1", "2")}, 1, "", 0, ""},
		{"a majority", []sentinelView{named("s1", nw, "2", "2"), named("s2", nw, "2", "2"), named("s3", old, "1", "2")}, 1, nw, 2, ""},
		{"every one", []sentinelView{named("s1", nw, "2", "2"), named("s2", nw, "2", "2"), named("s3", nw, "2", "2")}, 1, nw, 2, ""},
		{"two of three asked, the third watching", []sentinelView{named("s1", nw, "2", "2"), named("s2", old, "1", "2")}, 1, "", 0, ""},
		{"a majority, one down", []sentinelView{named("s1", nw, "2", "2"), named("s2", nw, "2", "2"), down}, 1, nw, 2, ""},
		{"two epochs, no majority at one", []sentinelView{named("s1", nw, "3", "2"), named("s2", nw, "2", "2"), named("s3", old, "1", "2")}, 1, "", 0, ""},
		{"a majority at an older epoch than the old master's", []sentinelView{named("s1", nw, "1", "2"), named("s2", nw, "1", "2"), named("s3", old, "2", "2")}, 2, "", 0, "name 127.0.0.1:7001 the master at config epoch 1, but 127.0.0.1:7000 was the master at config epoch 2"},
		{"a majority at the same epoch", []sentinelView{named("s1", nw, "2", "2"), named("s2", nw, "2", "2"), named("s3", old, "2", "2")}, 2, "", 0, "older config epoch"},
		{"the old master named by host", []sentinelView{named("s1", "localhost:7000", "1", "2"), named("s2", old, "1", "2"), named("s3", old, "1", "2")}, 1, "", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, e, err := switched(ctx, tc.views, old, tc.left)
			if got != tc.want || e != tc.wantEpoch || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("switched = %q, %d, %v; want %q, %d, %q", got, e, err, tc.want, tc.wantEpoch, tc.err)
			}
		})
	}
}

// TestMayFence: the old primary is made a replica of the new one unless
// it is a master with data the new one lacks (further on another history
// than the one the new master was promoted from).
func TestMayFence(t *testing.T) {
	info := func(role, replid, replid2 string, off int) Info {
		return Info{"role": role, "master_replid": replid, "master_replid2": replid2, "master_repl_offset": strconv.Itoa(off)}
	}
	promoted := info("master", "bbb", "aaa", 5000) // promoted from history aaa at 4000 or so
	for _, tc := range []struct {
		name string
		old  Info
		ok   bool
	}{
		{"restarted empty", info("master", "ccc", "000", 0), true},
		{"already a replica", info("slave", "bbb", "aaa", 5000), true},
		{"alive, the history the new master was promoted from, behind", info("master", "aaa", "000", 4000), true},
		{"alive, the history the new master was promoted from, ahead", info("master", "aaa", "000", 9000), true},
		{"a master ahead on another history", info("master", "ddd", "000", 9000), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mayFence("old:1", tc.old, "new:2", promoted)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, errNewerData)) {
				t.Errorf("mayFence = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
