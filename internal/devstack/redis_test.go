package devstack

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRedisSupervisorRestartsAKilledServer: with RestartAfter, a
// redis-server that is killed is started again (on its port, with its
// configuration) after the delay, like a process supervisor would; one
// that is stopped is not.
func TestRedisSupervisorRestartsAKilledServer(t *testing.T) {
	ctx := context.Background()
	h, err := StartRedis(ctx, "", RedisOptions{RestartAfter: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Cleanup()
	pid := h.Primary.PID()
	h.Primary.Kill()
	began := time.Now()
	err = WaitRedis(ctx, 15*time.Second, func(ctx context.Context) error {
		if h.Primary.Restarts() == 0 {
			return errors.New("not restarted yet")
		}
		c := redis.NewClient(&redis.Options{Addr: h.Primary.Addr(), MaxRetries: -1})
		defer c.Close()
		return c.Ping(ctx).Err()
	})
	if err != nil || h.Primary.Restarts() != 1 || h.Primary.PID() == pid {
		t.Fatalf("killed primary not restarted: %v, %d restarts, pid %d (was %d)\n%s", err, h.Primary.Restarts(), h.Primary.PID(), pid, h.Logs())
	}
	if took := time.Since(began); took < 300*time.Millisecond {
		t.Fatalf("restarted after %s, before the 300ms delay", took)
	}
	h.Stop()
	time.Sleep(time.Second)
	if h.Primary.Restarts() != 1 || h.Replica.Restarts() != 0 {
		t.Fatalf("a stopped server was restarted: primary %d, replica %d", h.Primary.Restarts(), h.Replica.Restarts())
	}
}
