package runtime

// SetSizeLimits lowers the plan and loop size limits for a test; the
// returned function restores them.
func SetSizeLimits(planSteps, loopItems int) (restore func()) {
	p, l := maxPlanSteps, maxLoopIterations
	maxPlanSteps, maxLoopIterations = planSteps, loopItems
	return func() { maxPlanSteps, maxLoopIterations = p, l }
}
