package main

import (
	"context"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/runtime"
)

// dryRunCheck, under --dryrun, lists before anything runs every step that
// may change something outside gxl and will really run (no #[dryrun]
// substitute replaced it or its flow), computed by the engine from the
// plan; with --strict any such step stops the run before it starts
// (exit 2, no journal).
func dryRunCheck(s *streams, log *zap.Logger, f *runFlags, eng *engine.Engine, prog *engine.Program, flows []string) error {
	if !f.dryrun {
		return nil
	}
	effects, err := eng.DryRunEffects(context.Background(), prog, flows)
	if err != nil {
		return failf(exitUsage, "%v", err)
	}
	if len(effects) == 0 {
		return nil
	}
	if f.logFormat == "json" {
		for _, e := range effects {
			log.Warn("dry run: this step will really run", zap.String("at", e.At.String()), zap.String("builtin", e.Name),
				zap.Strings("flows", e.Where), zap.Bool("conditional", e.Maybe), zap.String("note", e.Note))
		}
	} else {
		fmt.Fprintf(s.err, "warning: --dryrun: %d %s that may change something will really run (no #[dryrun] substitute replaces them):\n", len(effects), plural(len(effects), "step", "steps"))
		for _, e := range effects {
			fmt.Fprintf(s.err, "  %s: %s%s\n", e.At, e.Name, effectDetail(e))
		}
		fmt.Fprintln(s.err, "hint: give their flows a #[dryrun(FLOW)] substitute or test ${GXL_CMD_DRYRUN}; gxl plan shows each step")
	}
	if f.strict {
		return failf(exitUsage, "--dryrun --strict: %d %s would really run; nothing was started", len(effects), plural(len(effects), "step", "steps"))
	}
	return nil
}

// effectDetail says where a step is and what is uncertain about it.
func effectDetail(e runtime.EffectStep) string {
	var parts []string
	if len(e.Where) > 0 {
		parts = append(parts, "in "+strings.Join(e.Where, " → "))
	}
	if e.Maybe {
		parts = append(parts, "if a condition known only at run time holds")
	}
	if e.Note != "" {
		parts = append(parts, e.Note)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
