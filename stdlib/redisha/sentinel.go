package redisha

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gxl-dev/gxl/core/retry"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// forceMargin is how far every Sentinel must still be from taking the
// master for down on its own (down-after-milliseconds less the time since
// its last valid PING reply) for gxl to ask one of them to fail over
// (SENTINEL FAILOVER). A forced failover needs no election, so a Sentinel
// reaching ODOWN at the same moment would start a second failover of its
// own — a second epoch, and with several replicas maybe a second promoted
// server. The forced one is known to the others once its replica answers
// INFO as a master (Sentinel's INFO period during a failover, 1 s, plus
// a few of its 100 ms ticks): that must come first.
const forceMargin = 1500 * time.Millisecond

// sentinelView is what one Sentinel says about the master.
type sentinelView struct {
	addr     string
	master   map[string]string   // SENTINEL MASTER
	replicas []map[string]string // SENTINEL REPLICAS
	err      error
}

func (v sentinelView) flag(f string) bool {
	for _, x := range strings.Split(v.master["flags"], ",") {
		if x == f {
			return true
		}
	}
	return false
}

func (v sentinelView) masterAddr() string {
	if v.master["ip"] == "" {
		return ""
	}
	return v.master["ip"] + ":" + v.master["port"]
}

// untilDown is the time before this Sentinel takes the master for
// subjectively down (its down-after-milliseconds less the time since the
// master's last valid PING reply).
func (v sentinelView) untilDown() time.Duration {
	after, err1 := strconv.ParseInt(v.master["down-after-milliseconds"], 10, 64)
	since, err2 := strconv.ParseInt(v.master["last-ok-ping-reply"], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(after-since) * time.Millisecond
}

// promoted is the replica this Sentinel is promoting (flag "promoted",
// set when it chose it, before its SLAVEOF NO ONE), or "".
func (v sentinelView) promoted() string {
	for _, r := range v.replicas {
		for _, f := range strings.Split(r["flags"], ",") {
			if f == "promoted" {
				return r["ip"] + ":" + r["port"]
			}
		}
	}
	return ""
}

// mayForce says whether gxl may ask a Sentinel to fail over now: every
// Sentinel that watches the master answered, none is failing over, and —
// unless the old master answers (alive: the Sentinels will not fail it
// over on their own) — none holds the master for down (its own failover
// is coming) and none will within forceMargin. Else the reason to leave
// the failover to them.
func mayForce(views []sentinelView, alive bool) (bool, string) {
	others := 0
	for _, v := range views {
		if v.err != nil {
			return false, fmt.Sprintf("Sentinel %s does not answer (%v)", v.addr, v.err)
		}
		if n, _ := strconv.Atoi(v.master["num-other-sentinels"]); n > others {
			others = n
		}
	}
	if len(views) < others+1 {
		return false, fmt.Sprintf("%d Sentinels watch the master, %d were asked", others+1, len(views))
	}
	for _, v := range views {
		if v.flag("failover_in_progress") {
			return false, fmt.Sprintf("Sentinel %s is failing over (%s)", v.addr, v.master["failover-state"])
		}
	}
	if alive {
		return true, ""
	}
	for _, v := range views {
		switch {
		case v.flag("o_down") || v.flag("s_down"):
			return false, fmt.Sprintf("Sentinel %s holds the master for down (%s): its own failover comes", v.addr, v.master["flags"])
		case v.untilDown() < forceMargin:
			return false, fmt.Sprintf("Sentinel %s takes the master for down in %s, within %s", v.addr, v.untilDown(), forceMargin)
		}
	}
	return true, ""
}

// forceFailover sends SENTINEL FAILOVER: started is false, without an
// error, when the Sentinel answers -INPROG (a failover is going on: it is
// waited for, not a failure).
func forceFailover(ctx context.Context, sc *redis.SentinelClient, name string) (started bool, err error) {
	err = sc.Failover(ctx, name).Err()
	var re redis.Error
	if errors.As(err, &re) && strings.HasPrefix(re.Error(), "INPROG") {
		return false, nil
	}
	return err == nil, err
}

func readViews(ctx context.Context, addrs []string, clients []*redis.SentinelClient, name string) []sentinelView {
	views := make([]sentinelView, len(clients))
	for i, sc := range clients {
		v := sentinelView{addr: addrs[i]}
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		v.master, v.err = sc.Master(qctx, name).Result()
		if v.err == nil {
			v.replicas, v.err = sc.Replicas(qctx, name).Result()
		}
		cancel()
		views[i] = v
	}
	return views
}

// sentinelFailover fails the master over through its Sentinels and
// returns the new master as soon as it is known. gxl decides (its own
// detection window has passed, or the old master still answers) and the
// Sentinels carry the failover out: SENTINEL FAILOVER to the first
// Sentinel, which needs no ODOWN and no election and keeps Sentinel's
// replica choice, epochs and reconfiguration — when mayForce allows it;
// otherwise (the Sentinels are failing over or about to, a Sentinel does
// not answer) their own failover is waited for. A failover already going
// on (-INPROG; the SENTINEL FAILOVER of a run killed and now resumed) is
// waited for, never started twice. The new master is the address a
// Sentinel names once it switched, or, before that (the Sentinel learns
// of the promotion at its next INFO, up to a second later), the replica a
// Sentinel flagged "promoted" as soon as it answers as a master.
func sentinelFailover(ctx context.Context, c builtin.Ctx, sentinels []string, name, old, pw string) (string, error) {
	clients := make([]*redis.SentinelClient, len(sentinels))
	for i, s := range sentinels {
		clients[i] = redis.NewSentinelClient(&redis.Options{Addr: s, DialTimeout: 2 * time.Second, DialerRetries: 1, MaxRetries: -1})
	}
	defer func() {
		for _, sc := range clients {
			sc.Close()
		}
	}()
	asked, waiting, np := false, "", ""
	alive, pinged := false, time.Time{}
	err := retry.Poll(ctx, 25*time.Millisecond, 0, "the Sentinels to fail over "+name, func(ctx context.Context) (bool, error) {
		views := readViews(ctx, sentinels, clients, name)
		answering := 0
		for _, v := range views {
			if v.err != nil {
				continue
			}
			answering++
			if a := v.masterAddr(); a != "" && !sameAddr(ctx, a, old) {
				np = a
				c.Logf("redis.failover: Sentinel %s names %s the master of %s (config epoch %s)", v.addr, a, name, v.master["config-epoch"])
				return true, nil
			}
		}
		for _, v := range views {
			if p := v.promoted(); p != "" && !sameAddr(ctx, p, old) {
				if info, err := ReadInfo(ctx, p, pw); err == nil && info["role"] == "master" {
					np = p
					c.Logf("redis.failover: Sentinel %s promoted %s (%s)", v.addr, p, v.master["failover-state"])
					return true, nil
				}
			}
		}
		if answering == 0 {
			return false, fmt.Errorf("no Sentinel answers among %s", strings.Join(sentinels, ", "))
		}
		if asked {
			return false, nil
		}
		ok, why := mayForce(views, false)
		if !ok && time.Since(pinged) >= time.Second {
			// At most once a second: an old master that does not answer
			// at all (dropped packets) costs the timeout.
			pinged = time.Now()
			pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
			cl := client(old, pw)
			alive = cl.Ping(pctx).Err() == nil
			cl.Close()
			pcancel()
		}
		if !ok && alive {
			ok, why = mayForce(views, true)
		}
		if !ok {
			if why != waiting {
				c.Logf("redis.failover: waiting for the Sentinels' own failover: %s", why)
				waiting = why
			}
			return false, errors.New(why)
		}
		for i, v := range views {
			if v.err != nil {
				continue
			}
			started, err := forceFailover(ctx, clients[i], name)
			switch {
			case started:
				asked = true
				c.Logf("redis.failover: asked Sentinel %s to fail over %s (SENTINEL FAILOVER)", v.addr, name)
			case err == nil:
				c.Logf("redis.failover: Sentinel %s: a failover of %s is in progress; waiting for it", v.addr, name)
			default:
				// -NOGOODSLAVE (its view of the replica is stale): asked
				// again at the next poll.
				if why := err.Error(); why != waiting {
					c.Logf("redis.failover: SENTINEL FAILOVER %s on %s: %s", name, v.addr, why)
					waiting = why
				}
			}
			break
		}
		return false, nil
	})
	return np, err
}
