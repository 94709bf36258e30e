package engine

// WithLeaderHook hands f the operator's setLeader once the operator is
// made, before it serves: a test sets the leader /status and the status
// page report, as `gxl operate --ha` does.
func WithLeaderHook(f func(setLeader func(LeaderStatus))) OperateOption {
	return func(c *operateConfig) { c.begun = func(op *operation) { f(op.setLeader) } }
}
