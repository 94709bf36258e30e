package engine

import (
	"fmt"
	"testing"

	"github.com/gxl-dev/gxl/system/operator"
)

// TestStatusKeepsTheLastEvents: /status lists the last maxEvents events,
// oldest first, however many came before (they are cut back in batches).
func TestStatusKeepsTheLastEvents(t *testing.T) {
	e, err := New()
	if err != nil {
		t.Fatal(err)
	}
	op := &operation{e: e, clock: operator.RealClock{}}
	for n := 1; n <= 5*maxEvents+7; n++ {
		op.event(Event{Kind: "succeeded", Flow: fmt.Sprint(n)})
		evs := op.status().Events
		want := min(n, maxEvents)
		if len(evs) != want || evs[len(evs)-1].Flow != fmt.Sprint(n) || evs[0].Flow != fmt.Sprint(n-want+1) {
			t.Fatalf("after %d events /status has %d, from %s to %s; want the last %d", n, len(evs), evs[0].Flow, evs[len(evs)-1].Flow, want)
		}
	}
	if len(op.events) >= 2*maxEvents {
		t.Errorf("%d events kept: never cut back", len(op.events))
	}
}
