package main

import (
	"bytes"
	"context"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gxl-dev/gxl/internal/testprog"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/runtime"
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
	{"1", "`gxl check sys/workflows/operators.gxl` of the example system (every module workflow) vs `gxl version`", checkSystem},
	{"1a", "parse+check of a generated 100,000-line program, in process, vs go/parser", parseCheck},
	{"1b", "`gxl check` of that program, whole process", checkBig},
	{"2", "10,000 trivial steps (rows 2, 2b) vs 10,000 go-task tasks", trivialSteps},
	{"2c", "journal growth: a 4 MB JSON in a variable, then 50 flows", journalGrowth},
	{"3", "1,000 shell steps (rows 3, 3b, 3c) vs a bare Go loop", shellSteps},
	{"4", "fan-out: 500 modules × 5 stages at --jobs 16 vs the critical path", fanOut},
	{"5", "failover: gxl vs Redis Sentinel / bare pg_promote", failover},
	{"6", "peak RSS of 1b (`gxl check`, 100,000 lines)", rssCheck},
	{"7", "`gxl lsp`: diagnostics after a one-character edit of a 3,000-line workflow vs parse+check; RSS with the example system open", lspEdit},
	{"8", "idle `gxl operate` of the example system: CPU share of one core and peak RSS", idleOperator},
	{"9", "`gxl operate --ha`: leader kill -9 → new leader acting, beside the lease duration", leaderKill},
	{"10", "failover drills under `gxl operate` vs Redis Sentinel, acknowledged writes (`make drill`)", drills},
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
			return fmt.Errorf("generated program: %w", ds.Errors()[0])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The same number of bytes of Go, parsed by the standard library's
	// parser (syntax only: gxl's figure includes linking and checking).
	gosrc := goSource(len(src))
	g, err := b.timeIt(fmt.Sprintf("go/parser.ParseFile in process, %s of Go", mb(len(gosrc))), func() error {
		_, err := parser.ParseFile(token.NewFileSet(), "bench.go", gosrc, parser.ParseComments)
		return err
	})
	if err != nil {
		return nil, err
	}
	gxlRate, goRate := mbps(len(src), s.median()), mbps(len(gosrc), g.median())
	return []Row{{
		ID: "1a", What: fmt.Sprintf("parse+check of a generated %s-line program (%s), in process, vs go/parser.ParseFile of a generated Go file of the same size", thousands(bigLines), mb(len(src))),
		GXL:    fmt.Sprintf("%.1f MB/s (%s)", gxlRate, ms(s.median())),
		Peer:   fmt.Sprintf("%.1f MB/s (%s)", goRate, ms(g.median())),
		Ratio:  fmt.Sprintf("%.2f× the throughput", gxlRate/goRate),
		Target: "—",
		Met:    "—",
	}}, nil
}

// goSource is a Go file of at least size bytes: small commented
// functions with a condition, a call and arithmetic each.
func goSource(size int) []byte {
	var b bytes.Buffer
	b.WriteString("package bench\n\nimport \"fmt\"\n\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "// step%d prints its number when n is above it.\nfunc step%d(n int) int {\n\tif n > %d {\n\t\tfmt.Println(\"step %d\", n)\n\t}\n\treturn n + %d\n}\n\n", i, i, i, i, i)
	}
	return b.Bytes()
}

// checkBigSeries times `gxl check` of the generated program (rows 1b, 6).
func (b *bench) checkBigSeries() (series, int, error) {
	src := bigProgram()
	dir, path, err := b.write("check-big", "big.gxl", src)
	if err != nil {
		return series{}, 0, err
	}
	s, err := b.measure(job{name: "gxl check, 100,000 lines", dir: dir, argv: []string{b.gxl, "check", path}})
	if err != nil {
		return series{}, 0, err
	}
	return s[0], len(src), nil
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

// checkSystem: row 1. The example system's sys/ (without fetched
// modules) and modules/ (its path modules) are copied to the scratch folder and its modules published as
// git repositories the way make demo does (gxl dev publish, reached
// through a mirror); one untimed check fetches every module into a module
// cache of its own and must be clean. The timed check then finds each
// module in that cache at its tag, with --offline, as a user's check does
// once the modules are cached: it checks the system workflow and every
// enabled module's workflow. A bare `gxl version` process is measured in
// the same rounds.
func checkSystem(b *bench) ([]Row, error) {
	root := filepath.Join(b.work, "system")
	// modules/ too: the path modules of mod_list.yml live there.
	for _, d := range []string{"sys", "modules"} {
		if err := copySys(filepath.Join(b.repo, d), filepath.Join(root, d)); err != nil {
			return nil, err
		}
	}
	git := filepath.Join(b.work, "system-git")
	if _, err := runOnce(b.repo, io.Discard, []string{b.gxl, "dev", "publish", "--catalog", filepath.Join(b.repo, "modules"), "--out", git}); err != nil {
		return nil, err
	}
	env := []string{"GXL_MIRRORS=https://github.com/=" + git + "/github.com/", "GXL_MODULE_CACHE=" + filepath.Join(b.work, "system-cache")}
	rel := filepath.Join("sys", "workflows", "operators.gxl")
	var diags bytes.Buffer
	if _, err := runOnceEnv(root, &diags, env, []string{b.gxl, "check", "--format", "json", rel}); err != nil {
		return nil, err
	}
	if d := strings.TrimSpace(diags.String()); d != "[]" {
		return nil, fmt.Errorf("gxl check %s is not clean: %s", rel, oneLine(d))
	}
	ss, err := b.measure(
		job{name: "gxl check --offline " + rel + " (modules from the module cache)", dir: root, env: env, argv: []string{b.gxl, "check", "--offline", rel}},
		job{name: "gxl version", dir: root, argv: []string{b.gxl, "version"}},
	)
	if err != nil {
		return nil, err
	}
	c, v := ss[0], ss[1]
	ratio := float64(c.median()) / float64(v.median())
	return []Row{{
		ID: "1", What: fmt.Sprintf("`gxl check %s` of the example system and its enabled modules' workflows (module cache, `--offline`), whole process, vs a bare `gxl version` process", rel),
		GXL:    ms(c.median()),
		Peer:   ms(v.median()),
		Ratio:  fmt.Sprintf("%.2f×", ratio),
		Target: "≤ 2×",
		Met:    yesNo(ratio <= 2),
		RSS:    kb(c.rssKB) + " / " + kb(v.rssKB),
	}}, nil
}

// copySys copies a folder of a system without fetched modules (mods/) and
// the lock file.
func copySys(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "mods" || rel == "mod_list.lock" || strings.HasSuffix(rel, ".fetching") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
}

// perStep is the cost of one step: the run's time less the time of the
// same engine running a single step (process start, loading), over n.
func perStep(full, base series, n int) time.Duration {
	return (full.median() - base.median()) / time.Duration(n)
}

const nTrivial = 10000

// gxlJob writes a generated workflow, checks it with `gxl check`, and
// returns the job `gxl run -q FILE all`.
func (b *bench) gxlJob(name, sub string, src []byte, check func([]byte) error) (job, error) {
	dir, path, err := b.write(sub, "work.gxl", src)
	if err != nil {
		return job{}, err
	}
	if err := b.gxlCheck(path); err != nil {
		return job{}, err
	}
	return job{name: name, dir: dir, check: check, argv: []string{b.gxl, "run", "-q", path, "all"}}, nil
}

// taskJob writes a Taskfile of n tasks and returns the job running it.
func (b *bench) taskJob(name, sub string, n int) (job, error) {
	dir, _, err := b.write(sub, "Taskfile.yml", taskfile(n))
	if err != nil {
		return job{}, err
	}
	return job{name: name, dir: dir, check: lines(n), argv: []string{b.task, "--silent"}}, nil
}

// trivialSteps: rows 2 and 2b, timed together.
func trivialSteps(b *bench) ([]Row, error) {
	if b.task == "" {
		return nil, fmt.Errorf("no go-task binary (-task)")
	}
	var jobs []job
	for _, spec := range []struct {
		name, sub string
		n, per    int
	}{
		{"gxl run, 1 gx.echo", "gxl-echo-base", 1, 1},
		{"gxl run, 10,000 gx.echo, 100 per flow", "gxl-echo-100", nTrivial, 100},
		{"gxl run, 10,000 gx.echo, 1 per flow", "gxl-echo-1", nTrivial, 1},
	} {
		j, err := b.gxlJob(spec.name, spec.sub, gxlSteps(spec.n, spec.per, echoStmt), lines(spec.n))
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	for _, spec := range []struct {
		name, sub string
		n         int
	}{{"task, 1 task", "task-base", 1}, {"task, 10,000 tasks", "task-n", nTrivial}} {
		j, err := b.taskJob(spec.name, spec.sub, spec.n)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	s, err := b.measure(jobs...)
	if err != nil {
		return nil, err
	}
	gBase, g100, g1, tBase, t := s[0], s[1], s[2], s[3], s[4]
	ts := perStep(t, tBase, nTrivial)
	row := func(id, what string, g series) Row {
		gs := perStep(g, gBase, nTrivial)
		ratio := float64(ts) / float64(gs)
		return Row{
			ID: id, What: what,
			GXL:    fmt.Sprintf("%s/step (run %s)", us(gs), ms(g.median())),
			Peer:   fmt.Sprintf("%s/step (run %s)", us(ts), ms(t.median())),
			Ratio:  fmt.Sprintf("%.1f× lower", ratio),
			Target: "≥ 20× lower",
			Met:    yesNo(ratio >= 20),
			RSS:    kb(g.rssKB) + " / " + kb(t.rssKB),
		}
	}
	return []Row{
		row("2", "10,000 trivial steps: gx.echo in 100 flows × 100 (`-q`) vs 10,000 go-task tasks (`echo`, `--silent`)", g100),
		row("2b", "10,000 flows of one gx.echo each (10,000 plan steps) vs the same 10,000 go-task tasks", g1),
	}, nil
}

const nShell = 1000

// shellSteps: rows 3, 3b and 3c, timed together. 3c is 3b with the
// journal's per-command sync traded away (GXL_JOURNAL_FSYNC=batched): the
// two rows side by side show what the sync of issue 11 costs.
func shellSteps(b *bench) ([]Row, error) {
	if b.spawnloop == "" {
		return nil, fmt.Errorf("no spawnloop binary (-spawnloop)")
	}
	syncFile := filepath.Join(b.work, "spawnloop-sync.journal")
	specs := []struct {
		id, cmd string
		env     []string
		floor   []string
		what    string
		target  string   // "" for ≤ 1.2×
		sync    []string // spawnloop's flags
	}{
		{"3", "true", nil, []string{"sh", "-c", "true"},
			"1,000 shell steps: gx.cmd(\"true\") (10 flows × 100) vs 1,000 `sh -c true` from a Go loop (the floor)", "", nil},
		{"3b", "/bin/true", nil, []string{"/bin/true"},
			"1,000 gx.cmd(\"/bin/true\") (one child process each) vs 1,000 `/bin/true` from a Go loop", "", nil},
		{"3c", "/bin/true", []string{"GXL_JOURNAL_FSYNC=batched"}, []string{"/bin/true"},
			"3b with `GXL_JOURNAL_FSYNC=batched` (no disk sync before each command: issue 11's guarantee traded away), for comparison", "", nil},
		{"3d", "/bin/true", nil, []string{"/bin/true"},
			"3b (the same runs) vs the floor of issue 11's guarantee: a Go loop that appends a 200-byte record and `fdatasync`s it before each `/bin/true`", "—", []string{"-sync", syncFile}},
	}
	var jobs []job
	gi := make([]int, len(specs)) // index of each spec's gxl job, shared by specs with the same command and environment
	fi := make([]int, len(specs)) // and of its floor, shared by specs with the same floor
	index := map[string]int{}
	add := func(name string, mk func() (job, error)) (int, error) {
		if i, ok := index[name]; ok {
			return i, nil
		}
		j, err := mk()
		if err != nil {
			return 0, err
		}
		index[name] = len(jobs)
		jobs = append(jobs, j)
		return len(jobs) - 1, nil
	}
	var err error
	for n, sp := range specs {
		name := fmt.Sprintf("gxl run, 1,000 gx.cmd(%q)", sp.cmd)
		if len(sp.env) > 0 {
			name += " " + strings.Join(sp.env, " ")
		}
		if gi[n], err = add(name, func() (job, error) {
			g, err := b.gxlJob(name, "gxl-cmd-"+sp.id, gxlSteps(nShell, 100, cmdStmt(sp.cmd)), nil)
			g.env = sp.env
			return g, err
		}); err != nil {
			return nil, err
		}
		fname := fmt.Sprintf("Go loop, 1,000 %v", sp.floor)
		if sp.sync != nil {
			fname += ", each after an fdatasync"
		}
		if fi[n], err = add(fname, func() (job, error) {
			return job{name: fname, dir: b.work, argv: slices.Concat([]string{b.spawnloop}, sp.sync, []string{fmt.Sprint(nShell)}, sp.floor)}, nil
		}); err != nil {
			return nil, err
		}
	}
	s, err := b.measure(jobs...)
	if err != nil {
		return nil, err
	}
	var rows []Row
	for n, sp := range specs {
		g, f := s[gi[n]], s[fi[n]]
		ratio := float64(g.median()) / float64(f.median())
		r := Row{
			ID: sp.id, What: sp.what,
			GXL:    fmt.Sprintf("%s (%s/step)", ms(g.median()), us(g.median()/nShell)),
			Peer:   fmt.Sprintf("%s (%s/step)", ms(f.median()), us(f.median()/nShell)),
			Ratio:  fmt.Sprintf("%.2f×", ratio),
			Target: "≤ 1.2×",
			Met:    yesNo(ratio <= 1.2),
			RSS:    kb(g.rssKB) + " / " + kb(f.rssKB),
		}
		if sp.target != "" {
			// Information: how far the guarantee's floor itself is from
			// 3b's bare loop, so the two ratios can be read together.
			bare := s[fi[1]]
			r.What += fmt.Sprintf(" (that loop alone: %.2f× 3b's bare loop)", float64(f.median())/float64(bare.median()))
			r.Target, r.Met = sp.target, "—"
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// journalGrowth: row 2c, in process: the same run with the statement-level
// journal and without one, side by side; the journal's size as a multiple
// of the JSON's.
func journalGrowth(b *bench) ([]Row, error) {
	js, src := testprog.JournalGrowth(4<<20, 50)
	dir, path, err := b.write("journal-growth", "work.gxl", src)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "big.json"), js, 0o644); err != nil {
		return nil, err
	}
	prog, ds := check.Load(path, check.Options{Registry: stdlib.Default()})
	if ds.HasErrors() {
		return nil, fmt.Errorf("journal growth program: %w", ds.Errors()[0])
	}
	var size int64
	run := func(journal bool) error {
		var j *runtime.Journal
		if journal {
			var err error
			j, err = runtime.CreateJournal(dir, runtime.Header{File: path, Envs: []string{"default"}, Flows: []string{"all"}, Dir: dir})
			if err != nil {
				return err
			}
		}
		r := runtime.New(prog, runtime.Options{Dir: dir, Stdout: io.Discard, Stderr: io.Discard, Quiet: true,
			SecretsFile: filepath.Join(dir, "none"), Journal: j})
		err := r.Run(context.Background(), []string{"default"}, []string{"all"})
		if cerr := j.Close(); err == nil {
			err = cerr
		}
		if journal && err == nil {
			st, serr := os.Stat(j.Path)
			if serr != nil {
				return serr
			}
			size = st.Size()
		}
		return err
	}
	without, err := b.timeIt("journal growth, no journal", func() error { return run(false) })
	if err != nil {
		return nil, err
	}
	with, err := b.timeIt("journal growth, journal", func() error { return run(true) })
	if err != nil {
		return nil, err
	}
	sizeRatio := float64(size) / float64(len(js))
	timeRatio := float64(with.median()) / float64(without.median())
	return []Row{{
		ID: "2c", What: fmt.Sprintf("journal growth: a %s JSON read into a variable, then 50 flows (in process)", mb(len(js))),
		GXL:    fmt.Sprintf("journal %s = %.2f× the JSON; run %s", mb(int(size)), sizeRatio, ms(with.median())),
		Peer:   fmt.Sprintf("no journal: run %s", ms(without.median())),
		Ratio:  fmt.Sprintf("%.2f× the time", timeRatio),
		Target: "≤ 2× the size, ≤ 3× the time",
		Met:    yesNo(sizeRatio <= 2 && timeRatio <= 3),
	}}, nil
}
