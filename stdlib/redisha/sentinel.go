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
	addr    string
	master  map[string]string // SENTINEL MASTER
	current string            // SENTINEL GET-MASTER-ADDR-BY-NAME
	err     error
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

func (v sentinelView) epoch() int64 {
	n, _ := strconv.ParseInt(v.master["config-epoch"], 10, 64)
	return n
}

// readViews asks every Sentinel for the master: SENTINEL MASTER (flags,
// config epoch, down-after) and GET-MASTER-ADDR-BY-NAME, which names the
// promoted replica as soon as the Sentinel carrying out a failover has
// seen it answer as a master (sentinel.c, sentinelGetCurrentMasterAddress:
// failover state RECONF_SLAVES or later) — SENTINEL MASTER's ip and port
// keep the old master's until the end of the failover.
func readViews(ctx context.Context, addrs []string, clients []*redis.SentinelClient, name string) []sentinelView {
	views := make([]sentinelView, len(clients))
	for i, sc := range clients {
		v := sentinelView{addr: addrs[i]}
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		v.master, v.err = sc.Master(qctx, name).Result()
		if v.err == nil {
			var a []string
			if a, v.err = sc.GetMasterAddrByName(qctx, name).Result(); v.err == nil && len(a) == 2 {
				v.current = a[0] + ":" + a[1]
			}
		}
		cancel()
		views[i] = v
	}
	return views
}

// errEpoch: a majority of the Sentinels name a master at a config epoch
// no newer than the one at which the server being left was the master.
var errEpoch = errors.New("older config epoch")

// switched tells what a majority of the Sentinels agree on: the master
// they name, other than old, with one config epoch; "" while no majority
// does (a failover going on, the others not yet told by the hello
// messages, or none). left is the config epoch at which old was the
// master (the highest any Sentinel named it at). A majority naming
// another master at an epoch not newer than left fails with errEpoch:
// going there would take the data back to an older configuration.
func switched(ctx context.Context, views []sentinelView, old string, left int64) (string, int64, error) {
	n := len(views)
	for _, v := range views {
		if m, _ := strconv.Atoi(v.master["num-other-sentinels"]); m+1 > n {
			n = m + 1
		}
	}
	type conf struct {
		addr  string
		epoch int64
	}
	votes := map[conf]int{}
	for _, v := range views {
		if v.err == nil && v.current != "" && !sameAddr(ctx, v.current, old) {
			votes[conf{v.current, v.epoch()}]++
		}
	}
	for c, k := range votes {
		if k > n/2 {
			if c.epoch <= left {
				return "", 0, fmt.Errorf("%w: %d of %d Sentinels name %s the master at config epoch %d, but %s was the master at config epoch %d", errEpoch, k, n, c.addr, c.epoch, old, left)
			}
			return c.addr, c.epoch, nil
		}
	}
	return "", 0, nil
}

// sentinelFailover fails the master over through its Sentinels and
// returns the new master and its config epoch once a majority of the
// Sentinels name it at a newer config epoch than old's — never at the
// promotion alone: a replica promoted by a failover the Sentinels then
// abort (failover-timeout without seeing it answer as a master) is not
// the master for them, and once the old master is back they make it a
// replica of that one again (sentinel.c: a replica reporting the master
// role is reconfigured after 4 publish periods, 8 s, when the master
// looks sane), which would lose every write it took.
//
// gxl decides (its own detection window has passed, or the old master
// still answers) and the Sentinels carry the failover out: SENTINEL
// FAILOVER to the first Sentinel, which needs no ODOWN and no election
// and keeps Sentinel's replica choice, epochs and reconfiguration — when
// mayForce allows it; otherwise (the Sentinels are failing over or about
// to, a Sentinel does not answer) their own failover is waited for. A
// failover already going on (-INPROG; the SENTINEL FAILOVER of a run
// killed and now resumed) is waited for, never started twice. A forced
// failover (asked for here, or seen going on with the force_failover
// flag: a killed run's) that ends with no Sentinel naming a new master
// was aborted: it counts as nothing, and it is asked for again at once,
// whenever every Sentinel answers and none is failing over, without
// mayForce's margin: the Sentinel that aborted holds back a failover of
// its own of that master for twice failover-timeout from the aborted
// start, and so does every Sentinel that voted for it (sentinel.c,
// sentinelVoteLeader: they were asked once the master was down for
// them), so their own would come only after that. Waiting for it lost
// writes in a drill: the old master came back empty meanwhile, and the
// Sentinels turned the replica the aborted failover had promoted — a
// master they do not know — into a replica of it (+convert-to-slave,
// done 8 s after it reported the master role once the old master looks
// sane again: back, and not down for them).
func sentinelFailover(ctx context.Context, c builtin.Ctx, sentinels []string, name, old, pw string) (string, int64, error) {
	clients := make([]*redis.SentinelClient, len(sentinels))
	for i, s := range sentinels {
		clients[i] = redis.NewSentinelClient(&redis.Options{Addr: s, DialTimeout: 2 * time.Second, DialerRetries: 1, MaxRetries: -1})
	}
	defer func() {
		for _, sc := range clients {
			sc.Close()
		}
	}()
	asked, aborted, waiting, np := false, false, "", ""
	var epoch, left int64
	alive, pinged := false, time.Time{}
	err := retry.Poll(ctx, 25*time.Millisecond, 0, "a majority of the Sentinels to name a new master of "+name, func(ctx context.Context) (bool, error) {
		views := readViews(ctx, sentinels, clients, name)
		answering, inProgress := 0, false
		for _, v := range views {
			if v.err != nil {
				continue
			}
			answering++
			if v.flag("failover_in_progress") {
				inProgress = true
			}
			if v.flag("force_failover") && !asked {
				// A SENTINEL FAILOVER going on, not asked for in this
				// call: a killed run's, now resumed. Followed as if
				// asked here (an abort of it is asked again).
				asked = true
				c.Logf("redis.failover: Sentinel %s is carrying out a SENTINEL FAILOVER of %s (%s); waiting for it", v.addr, name, v.master["failover-state"])
			}
			if v.current != "" && sameAddr(ctx, v.current, old) && v.epoch() > left {
				left = v.epoch()
			}
		}
		a, e, err := switched(ctx, views, old, left)
		if err != nil {
			return false, retry.Permanent(err)
		}
		if a != "" {
			np, epoch = a, e
			c.Logf("redis.failover: a majority of the Sentinels name %s the master of %s (config epoch %d, was %d)", a, name, e, left)
			return true, nil
		}
		if answering == 0 {
			return false, fmt.Errorf("no Sentinel answers among %s", strings.Join(sentinels, ", "))
		}
		if asked {
			if inProgress || anyNamesOther(ctx, views, old) {
				return false, nil
			}
			// Nothing going on and nobody names a new master: the
			// Sentinel aborted the SENTINEL FAILOVER.
			c.Logf("redis.failover: the failover of %s asked for was aborted (the Sentinels name %s at config epoch %d); asking again", name, old, left)
			asked, aborted = false, true
		}
		ok, why := mayForce(views, false)
		if !ok && aborted && !inProgress && answering == len(views) {
			// The retry of an aborted one: see above.
			ok = true
		}
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
				asked = true
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
	return np, epoch, err
}

// anyNamesOther: some Sentinel names a master other than old (a failover
// seen by some, the others not yet told).
func anyNamesOther(ctx context.Context, views []sentinelView, old string) bool {
	for _, v := range views {
		if v.err == nil && v.current != "" && !sameAddr(ctx, v.current, old) {
			return true
		}
	}
	return false
}
