package engine

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/gxl-dev/gxl/core/fsguard"
	"github.com/gxl-dev/gxl/runtime"
)

// protected are the folders a prune must leave whole besides
// fsguard.Base(): the engine's working directory and its project.
func (e *Engine) protected() fsguard.Roots {
	return fsguard.Project(e.cfg.dir, "the working directory")
}

// DefaultRunRetention is how long a successful run's journal is kept: at
// the start of each run, succeeded runs that started longer ago are
// removed (WithRunRetention; `gxl run --keep-runs`, GXL_KEEP_RUNS).
// Failed and interrupted runs are never removed then: they may still be
// resumed.
const DefaultRunRetention = 14 * 24 * time.Hour

// WithRunRetention sets how long successful runs are kept (default
// DefaultRunRetention); 0 keeps them all.
func WithRunRetention(d time.Duration) Option { return func(c *config) { c.keepRuns = d } }

// WithClock sets the engine's clock (default time.Now): the ages of runs
// (retention, PruneRuns) and the duration of a run still going are
// measured from it.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

func (e *Engine) now() time.Time {
	if e.cfg.now != nil {
		return e.cfg.now()
	}
	return time.Now()
}

// RunsDir is the folder of the engine's run journals.
func (e *Engine) RunsDir() string { return runtime.RunsDir(e.journalRoot()) }

// Runs lists the runs kept under the engine's journal root (WithJournal,
// else the project root of the working directory), newest first. A
// journal that cannot be read is listed as runtime.RunCorrupt.
func (e *Engine) Runs() ([]runtime.RunInfo, error) {
	s, err := e.runStore()
	if err != nil {
		return nil, err
	}
	return runtime.ListRunsIn(s, e.now())
}

// ShowRun reads one run: id is a unique prefix of its id, or "last". A
// prefix of several runs is a *runtime.AmbiguousRunError listing them, an
// unknown id a *runtime.NoRunError.
func (e *Engine) ShowRun(id string) (*runtime.RunDetail, error) {
	s, err := e.runStore()
	if err != nil {
		return nil, err
	}
	return runtime.ReadRunIn(s, id, e.now())
}

// PruneOption selects the runs PruneRuns removes.
type PruneOption func(*runtime.PruneOptions)

// PruneOlderThan selects runs that started longer ago than d.
func PruneOlderThan(d time.Duration) PruneOption {
	return func(o *runtime.PruneOptions) { o.OlderThan = d }
}

// PruneKeep keeps the n newest of the runs that may go.
func PruneKeep(n int) PruneOption { return func(o *runtime.PruneOptions) { o.Keep = n } }

// PruneFailed lets failed, interrupted and corrupt runs go too; without
// it only succeeded runs do, since the others may still be resumed.
func PruneFailed(on bool) PruneOption { return func(o *runtime.PruneOptions) { o.Failed = on } }

// PruneDryRun removes nothing and returns what would go.
func PruneDryRun(on bool) PruneOption { return func(o *runtime.PruneOptions) { o.DryRun = on } }

// PruneRuns removes the selected runs — never a running one — and returns
// them (with PruneDryRun: what would go). An age or a count must select:
// with neither, nothing is removed and the error says so. Removals go
// through fsguard, with the engine's working directory protected too.
func (e *Engine) PruneRuns(opts ...PruneOption) ([]runtime.RunInfo, error) {
	o := runtime.PruneOptions{Now: e.now()}
	for _, f := range opts {
		f(&o)
	}
	if o.OlderThan < 0 || o.Keep < 0 {
		return nil, fmt.Errorf("prune: an age and a count cannot be negative")
	}
	if o.OlderThan == 0 && o.Keep == 0 {
		return nil, fmt.Errorf("prune: name the runs to remove by age, by count, or both")
	}
	s, err := e.runStore()
	if err != nil {
		return nil, err
	}
	return runtime.PruneRunsIn(s, o)
}

// retain applies the run retention at the start of a run: succeeded runs
// older than it go. It never fails the run: a failure is a warning.
func (e *Engine) retain(s runtime.RunStore) {
	if e.cfg.keepRuns <= 0 {
		return
	}
	gone, err := runtime.PruneRunsIn(s, runtime.PruneOptions{OlderThan: e.cfg.keepRuns, Now: e.now()})
	log := e.cfg.log
	if log == nil {
		return
	}
	if err != nil {
		log.Warn("old runs were not all removed (run retention)", zap.Error(err), zap.String("runs", s.Where()))
	}
	if len(gone) > 0 {
		log.Debug("removed old successful runs (run retention)", zap.Int("runs", len(gone)), zap.Duration("older_than", e.cfg.keepRuns))
	}
}

// ageRE is a count of days or weeks, optionally followed by a Go
// duration: 14d, 2w, 1d12h.
var ageRE = regexp.MustCompile(`^(\d+)([dw])(.*)$`)

// ParseAge reads an age as `gxl runs prune --older-than` and `--keep-runs`
// take it: a Go duration (36h, 90m) with days (14d) and weeks (2w)
// besides; "0" is zero. Negative ages are errors.
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	var d time.Duration
	rest := s
	if m := ageRE.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil {
			return 0, fmt.Errorf("age %q: %v", s, err)
		}
		unit := 24 * time.Hour
		if m[2] == "w" {
			unit *= 7
		}
		d, rest = time.Duration(n)*unit, m[3]
	}
	if rest != "" || s == "" {
		r, err := time.ParseDuration(rest)
		if err != nil || r < 0 {
			return 0, fmt.Errorf("age %q: write a duration such as 14d, 2w, 36h or 90m", s)
		}
		d += r
	}
	return d, nil
}
