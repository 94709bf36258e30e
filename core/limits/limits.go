// Package limits holds the bounds gxl puts on programs, in one place:
// past them a program gets a positioned error instead of exhausting the
// stack, the memory or the time of the machine. docs/limits.md describes
// them for users.
package limits

const (
	// MaxNesting bounds how deeply source constructs nest: blocks,
	// parentheses, brackets, annotation groups and runs of `!`, counted
	// together. The lexer reports the token that goes deeper
	// ("nesting deeper than 256 levels"), so the parsers and the checker
	// never recurse further.
	MaxNesting = 256

	// MaxCallDepth bounds the run-time call stack: flows, fn and activity
	// calls together. Recursion is legal (it usually stops on a
	// condition); recursion that does not stop fails here with the call
	// stack.
	MaxCallDepth = 1000

	// MaxNestedRuns bounds how deeply gx.run may start runs from runs.
	MaxNestedRuns = 64

	// MaxPlanSteps bounds the number of steps one top-level flow expands
	// to (pre and post flows are expanded at every occurrence, so shared
	// pre flows multiply).
	MaxPlanSteps = 1_000_000

	// MaxLoopIterations bounds the items one `for` statement iterates over.
	MaxLoopIterations = 1_000_000

	// MaxExpand bounds the re-expansion of values that contain ${...}
	// (§2.5): a self-referential value is an error, not a hang.
	MaxExpand = 16

	// MaxExternDepth bounds how deeply extern files include other files.
	MaxExternDepth = 32

	// StackShown is how many innermost frames an error shows when the
	// call stack is deeper.
	StackShown = 12
)
