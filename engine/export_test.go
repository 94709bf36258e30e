package engine

import (
	"context"

	"github.com/gxl-dev/gxl/runtime"
)

// WithLeaderHook hands f the operator's setLeader once the operator is
// made, before it serves: a test sets the leader /status and the status
// page report, as `gxl operate --ha` does.
func WithLeaderHook(f func(setLeader func(LeaderStatus))) OperateOption {
	return func(c *operateConfig) { c.begun = func(op *operation) { f(op.setLeader) } }
}

// WithRunHook hands f a function that runs a flow as the operator runs a
// triggered one (operation.runFlow), once the operator is made: the
// benchmark of a triggered run.
func WithRunHook(f func(run func(flow string) error)) OperateOption {
	return func(c *operateConfig) {
		c.begun = func(op *operation) {
			f(func(flow string) error {
				return op.runFlow(context.Background(), flow, runtime.Header{Trigger: "benchmark"})
			})
		}
	}
}
