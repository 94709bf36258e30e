package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gxl-dev/gxl/internal/testprog"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/stdlib"
)

// A measurement produces one or more rows of the table. To add a row,
// write a func(*bench) ([]Row, error) and list it here; a nil run prints
// the row as "not measured yet".
type measurement struct {
	id    string
	title string
	run   func(b *bench) ([]Row, error)
}

var measurements = []measurement{
	{"1a", "parse+check of a generated 100,000-line program, in process", parseCheck},
	{"1b", "`gxl check` of that program, whole process", checkBig},
	{"1c", "cold `gxl check` of a real workflow, whole process", checkCold},
	{"2", "10,000 trivial steps: gx.echo (100 flows × 100, -q) vs 10,000 go-task tasks (`echo`)", echoSteps},
	{"2b", "10,000 flows of one gx.echo each (10,000 journaled steps) vs 10,000 go-task tasks", echoFlows},
	{"3", "1,000 gx.cmd(\"true\") vs 1,000 `sh -c true` from a Go loop (the floor)", cmdTrue},
	{"3b", "1,000 gx.cmd(\"/bin/true\") (a process each) vs 1,000 `/bin/true` from a Go loop", cmdBinTrue},
	{"4", "fan-out: 500 modules × 5 stages at --jobs 16 vs the critical path", nil},
	{"5", "failover: gxl vs Redis Sentinel / bare pg_promote", nil},
	{"6", "peak RSS of 1b (`gxl check`, 100,000 lines)", rssCheck},
}

// Row is one line of the table.
type Row struct {
	ID     string
	What   string
	GXL    string // gxl's figure
	Peer   string // the peer's figure (or —)
	Ratio  string
	Target string
	Met    string // yes, no, or —
	RSS    string // peak RSS, gxl / peer
}

const bigLines = 100000

// bigProgram is the generated 100,000-line program of rows 1a, 1b and 6.
func bigProgram() []byte { return testprog.Generate(bigLines) }

func parseCheck(b *bench) ([]Row, error) {
	src := bigProgram()
	reg := stdlib.Default()
	s, err := b.timeIt("parse+check in process, 100,000 lines", func() error {
		_, ds := check.CheckSource("bench.gxl", src, check.Options{Registry: reg})
		if ds.HasErrors() {
			return fmt.Errorf("generated program: %v", ds.Errors()[0])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []Row{{
		ID: "1a", What: fmt.Sprintf("parse+check of a generated %s-line program (%s), in process", thousands(bigLines), mb(len(src))),
		GXL:    fmt.Sprintf("%.1f MB/s (%s)", mbps(len(src), s.median()), ms(s.median())),
		Peer:   "—",
		Ratio:  "—",
		Target: "—",
		Met:    "—",
	}}, nil
}

// checkBigSeries times `gxl check` of the generated program (rows 1b, 6).
func (b *bench) checkBigSeries() (series, int, error) {
	src := bigProgram()
	dir, path, err := b.write("check-big", "big.gxl", src)
	if err != nil {
		return series{}, 0, err
	}
	s, err := b.proc("gxl check, 100,000 lines", dir, nil, b.gxl, "check", path)
	return s, len(src), err
}

func checkBig(b *bench) ([]Row, error) {
	s, size, err := b.checkBigSeries()
	if err != nil {
		return nil, err
	}
	return []Row{{
		ID: "1b", What: "`gxl check` of that program, whole process",
		GXL:   fmt.Sprintf("%s (%.1f MB/s)", ms(s.median()), mbps(size, s.median())),
		Peer:  "—",
		Ratio: "—", Target: "—", Met: "—",
		RSS: kb(s.rssKB),
	}}, nil
}

func rssCheck(b *bench) ([]Row, error) {
	s, size, err := b.checkBigSeries()
	if err != nil {
		return nil, err
	}
	return []Row{{
		ID: "6", What: fmt.Sprintf("peak RSS of 1b (`gxl check`, %s lines, %s)", thousands(bigLines), mb(size)),
		GXL:   fmt.Sprintf("%s (%.0f× the source)", kb(s.rssKB), float64(s.rssKB*1024)/float64(size)),
		Peer:  "—",
		Ratio: "—", Target: "—", Met: "—",
		RSS: kb(s.rssKB),
	}}, nil
}

func checkCold(b *bench) ([]Row, error) {
	rel := filepath.Join("sys", "workflows", "operators.gxl")
	if _, err := os.Stat(filepath.Join(b.repo, rel)); err != nil {
		rel = filepath.Join("examples", "ops", "work.gxl")
	}
	s, err := b.proc("gxl check "+rel, b.repo, nil, b.gxl, "check", rel)
	if err != nil {
		return nil, err
	}
	const target = 30 * time.Millisecond
	return []Row{{
		ID: "1c", What: fmt.Sprintf("cold `gxl check %s`, whole process", rel),
		GXL:    ms(s.median()),
		Peer:   "—",
		Ratio:  "—",
		Target: "< " + ms(target),
		Met:    yesNo(s.median() < target),
		RSS:    kb(s.rssKB),
	}}, nil
}

// perStep is the cost of one step: the run's time less the time of the
// same engine running a single step (process start, loading), over n.
func perStep(full, base series, n int) time.Duration {
	return (full.median() - base.median()) / time.Duration(n)
}

const nTrivial = 10000

// taskSeries times go-task with the base (one task) and nTrivial tasks.
func (b *bench) taskSeries() (base, full series, err error) {
	if b.task == "" {
		return base, full, fmt.Errorf("no go-task binary (-task)")
	}
	dir1, _, err := b.write("task-1", "Taskfile.yml", taskfile(1))
	if err != nil {
		return base, full, err
	}
	if base, err = b.proc("task, 1 task", dir1, lines(1), b.task, "--silent"); err != nil {
		return base, full, err
	}
	dirN, _, err := b.write("task-n", "Taskfile.yml", taskfile(nTrivial))
	if err != nil {
		return base, full, err
	}
	full, err = b.proc("task, 10,000 tasks", dirN, lines(nTrivial), b.task, "--silent")
	return base, full, err
}

// gxlSeries times `gxl run -q FILE all` of a generated workflow, after
// checking it.
func (b *bench) gxlSeries(name, sub string, src []byte, check func([]byte) error) (series, error) {
	dir, path, err := b.write(sub, "work.gxl", src)
	if err != nil {
		return series{}, err
	}
	if err := b.gxlCheck(path); err != nil {
		return series{}, err
	}
	return b.proc(name, dir, check, b.gxl, "run", "-q", path, "all")
}

func echoSteps(b *bench) ([]Row, error) {
	return echoRow(b, "2", 100,
		"10,000 trivial steps: gx.echo in 100 flows × 100 (`-q`) vs 10,000 go-task tasks (`echo`, `--silent`)")
}

func echoFlows(b *bench) ([]Row, error) {
	return echoRow(b, "2b", 1,
		"10,000 flows of one gx.echo each (10,000 journaled steps) vs the same 10,000 go-task tasks")
}

func echoRow(b *bench, id string, perFlow int, what string) ([]Row, error) {
	gBase, err := b.gxlSeries("gxl run, 1 gx.echo", "gxl-echo-1", gxlSteps(1, 1, echoStmt), lines(1))
	if err != nil {
		return nil, err
	}
	g, err := b.gxlSeries(fmt.Sprintf("gxl run, 10,000 gx.echo, %d per flow", perFlow), fmt.Sprintf("gxl-echo-%d", perFlow),
		gxlSteps(nTrivial, perFlow, echoStmt), lines(nTrivial))
	if err != nil {
		return nil, err
	}
	tBase, t, err := b.taskSeries()
	if err != nil {
		return nil, err
	}
	gs, ts := perStep(g, gBase, nTrivial), perStep(t, tBase, nTrivial)
	ratio := float64(ts) / float64(gs)
	return []Row{{
		ID: id, What: what,
		GXL:    fmt.Sprintf("%s/step (run %s)", us(gs), ms(g.median())),
		Peer:   fmt.Sprintf("%s/step (run %s)", us(ts), ms(t.median())),
		Ratio:  fmt.Sprintf("%.1f× lower", ratio),
		Target: "≥ 10× lower",
		Met:    yesNo(ratio >= 10),
		RSS:    kb(g.rssKB) + " / " + kb(t.rssKB),
	}}, nil
}

const nShell = 1000

func cmdTrue(b *bench) ([]Row, error) {
	return shellRow(b, "3", "true", []string{"sh", "-c", "true"},
		"1,000 shell steps: gx.cmd(\"true\") (10 flows × 100) vs 1,000 `sh -c true` from a Go loop (the floor)")
}

func cmdBinTrue(b *bench) ([]Row, error) {
	return shellRow(b, "3b", "/bin/true", []string{"/bin/true"},
		"1,000 gx.cmd(\"/bin/true\") (one child process each) vs 1,000 `/bin/true` from a Go loop")
}

func shellRow(b *bench, id, cmd string, floor []string, what string) ([]Row, error) {
	g, err := b.gxlSeries(fmt.Sprintf("gxl run, 1,000 gx.cmd(%q)", cmd), "gxl-cmd-"+id, gxlSteps(nShell, 100, cmdStmt(cmd)), nil)
	if err != nil {
		return nil, err
	}
	if b.spawnloop == "" {
		return nil, fmt.Errorf("no spawnloop binary (-spawnloop)")
	}
	f, err := b.proc(fmt.Sprintf("Go loop, 1,000 %v", floor), b.work, nil, append([]string{b.spawnloop, fmt.Sprint(nShell)}, floor...)...)
	if err != nil {
		return nil, err
	}
	ratio := float64(g.median()) / float64(f.median())
	return []Row{{
		ID: id, What: what,
		GXL:    fmt.Sprintf("%s (%s/step)", ms(g.median()), us(g.median()/nShell)),
		Peer:   fmt.Sprintf("%s (%s/step)", ms(f.median()), us(f.median()/nShell)),
		Ratio:  fmt.Sprintf("%.2f×", ratio),
		Target: "≤ 1.2×",
		Met:    yesNo(ratio <= 1.2),
		RSS:    kb(g.rssKB) + " / " + kb(f.rssKB),
	}}, nil
}
