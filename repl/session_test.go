package repl

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/runtime"
	"github.com/gxl-dev/gxl/stdlib"
)

const deployProg = `mod envs {
    env default { region = "eu"; }
    env us { region = "us"; }
}
mod main {
    app = "api";
    fn check(*v) {
        gx.assert(value: "${v}", expect: "ok");
    }
    flow deploy {
        gx.echo("deploying ${MAIN_APP} to ${ENV_REGION}");
        STATE = "bad";
        gx.echo("state is ${STATE}");
        check("${STATE}");
        gx.echo("deployed ${MAIN_APP} with ${STATE}");
    }
    #[transaction, undo(_rollback)]
    flow release { gx.echo("released"); }
    flow _rollback { gx.echo("rolled back"); }
    flow ship : release { gx.assert(value: "${SHIP:no}", expect: "yes"); gx.echo("shipped"); }
    flow secret { gx.echo("key ${SEC_KEY}"); }
}
`

// testSession runs a session over prog with input typed line by line
// (plain line editor) and returns everything it printed.
func testSession(t *testing.T, src, input string, tweak func(*Config)) string {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "work.gxl")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "sec.yml"), []byte("key: hunter2-secret\n"), 0o600)
	reg := stdlib.Default()
	load := func(f string) (*check.Program, map[string]value.Value, error) {
		p, ds := check.Load(f, check.Options{Registry: reg})
		if ds.HasErrors() {
			return nil, nil, ds.Err()
		}
		return p, nil, nil
	}
	prog, _, err := load(file)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cfg := Config{
		File: file, Program: prog, Load: load, Registry: reg,
		Stdin: strings.NewReader(input), Stdout: &out, Stderr: &out,
		Options: runtime.Options{Stdout: &out, Stderr: &out, Dir: dir, Quiet: true, SecretsFile: filepath.Join(dir, "sec.yml")},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	s := New(cfg)
	defer s.Close()
	if err := s.Loop(); err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(out.String(), dir+string(filepath.Separator), "")
}

// inOrder checks that want appear in out, in this order.
func inOrder(t *testing.T, out string, want ...string) {
	t.Helper()
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("output lacks %q (in order) after:\n%s\n--- whole output:\n%s", w, rest, out)
		}
		rest = rest[i+len(w):]
	}
}

func TestSessionBreakStepInspectRetry(t *testing.T) {
	out := testSession(t, deployProg, strings.Join([]string{
		":break deploy",
		":run deploy",
		":step",
		":step",
		"${STATE}",
		`STATE = "good";`,
		":continue",
		":where",
		":vars v",
		":vars MAIN_",
		`:set v = "ok"`,
		":retry",
		":quit",
	}, "\n")+"\n", nil)
	inOrder(t, out,
		"work.gxl loaded (2 modules, 5 flows), env default",
		"breakpoint 1 at flow main.deploy",
		"breakpoint 1, main.deploy at work.gxl:11:9",
		`=>   11 |         gx.echo("deploying ${MAIN_APP} to ${ENV_REGION}");`,
		"deploying api to eu",
		"main.deploy at work.gxl:12:9",
		"main.deploy at work.gxl:13:9",
		`= "bad"`,
		"state is good",
		"step failed: fn main.check at work.gxl:8:9",
		`error: gx.assert: assert failed: value "good" is not the expected "ok"`,
		"#0  fn main.check",
		"at work.gxl:8:9",
		"#1  main.deploy",
		"at work.gxl:14:9",
		`v = "good"`,
		`MAIN_app = "api"`,
		`v = "ok"`,
		"deployed api with good",
		"run of deploy finished",
	)
}

func TestSessionFailureContinueRunsUndo(t *testing.T) {
	out := testSession(t, deployProg, ":run ship\n:step\n:continue\n${SHIP:unset}\n:quit\n", nil)
	inOrder(t, out,
		"released",
		"step failed: main.ship at work.gxl:20:27",
		":step: the statement failed",
		"the run fails",
		"rolled back",
		"run failed: work.gxl:20:27: error:",
		"flow stack: main.ship",
		`= "unset"`,
	)
	if strings.Contains(out, "\nshipped\n") {
		t.Fatalf("the failed step went on:\n%s", out)
	}
}

func TestSessionAbortAndSkip(t *testing.T) {
	out := testSession(t, deployProg, ":break release\n:run ship\n:abort\n:run ship\n:continue\n:skip\n:quit\n", nil)
	inOrder(t, out,
		"breakpoint 1, main.release",
		"aborting the run",
		// The undo entry of a transaction step is pushed before it runs
		// (§4.11): aborting it compensates it too.
		"rolled back",
		"run failed:", "run aborted from the debugger",
		"breakpoint 1, main.release",
		"released",
		"step failed: main.ship",
		"shipped\nrun of ship finished",
	)
	if n := strings.Count(out, "rolled back"); n != 1 {
		t.Fatalf("undo ran %d times:\n%s", n, out)
	}
}

func TestSessionNextStepsOverCalls(t *testing.T) {
	out := testSession(t, deployProg, `:break work.gxl:13
:run deploy
:next
:next
:skip
:next
:quit
`, nil)
	inOrder(t, out,
		"breakpoint 1 at work.gxl:13",
		"breakpoint 1, main.deploy at work.gxl:13:9",
		"main.deploy at work.gxl:14:9",
		// :next over check(): the failure inside still stops.
		"step failed: fn main.check at work.gxl:8:9",
		"main.deploy at work.gxl:15:9",
		"deployed api with bad",
		"run of deploy finished",
	)
	if strings.Contains(out, "fn main.check at work.gxl:8:9\n=>") && !strings.Contains(out, "step failed: fn main.check") {
		t.Fatalf(":next stepped into the fn:\n%s", out)
	}
}

func TestSessionErrorsNeverEndIt(t *testing.T) {
	out := testSession(t, deployProg, strings.Join([]string{
		`gx.ech("x");`,
		`gx.echo("${NOPE}");`,
		`${ENV_REGON}`,
		`x = `,
		`:frobnicate`,
		`:run nope`,
		`:step`,
		`:break nosuch`,
		`:break work.gxl:999`,
		`:delete 7`,
		`:env mars`,
		`:load missing.gxl`,
		`gx.echo("still here");`,
		`:quit`,
	}, "\n")+"\n", nil)
	inOrder(t, out,
		"repl:1:1: error: unknown built-in `gx.ech`", "did you mean `gx.echo`?",
		"repl:2:", "variable ${NOPE} is not defined",
		"repl:3:1: error: variable ${ENV_REGON} is not defined", "did you mean `ENV_region`?",
		"repl:4:", "the input is incomplete",
		"unknown command :frobnicate",
		`flow "nope" not found in module main`,
		":step: no run is paused",
		`flow "nosuch" not found`,
		"no statement at or after work.gxl:999",
		"no breakpoint 7",
		`environment "mars" not found`,
		"missing.gxl was not loaded",
		"still here",
	)
}

func TestSessionValuesConditionsAndSecrets(t *testing.T) {
	out := testSession(t, deployProg, strings.Join([]string{
		`${ENV_REGION}`,
		`"region ${ENV_REGION}"`,
		`[1, "b", true]`,
		`${ENV_REGION} =* "e*" && !defined(${NOPE})`,
		`${SEC_KEY}`,
		`"k=${SEC_KEY}"`,
		`:vars SEC_`,
		`:run secret`,
		`:env us`,
		`${ENV_REGION}`,
		`:set N = 3`,
		`:set WORD = plain text`,
		`:vars n`,
		`:plan ship`,
		`:quit`,
	}, "\n")+"\n", nil)
	inOrder(t, out,
		`= "eu"`,
		`= "region eu"`,
		`= [1,"b",true]`,
		`= true`,
		`= *** (secret string)`,
		`= *** (secret string)`,
		`SEC_KEY = *** (secret string)`,
		"key ***",
		"env us selected",
		`= "us"`,
		"N = 3",
		`WORD = "plain text"`,
		"N = 3",
		"plan for main.ship (env us):",
		"env envs.us",
		`ENV_region = "us"`,
		"flow main.release",
		`gx.echo(value: "released")`,
		"flow main.ship",
	)
	if strings.Contains(out, "hunter2") {
		t.Fatalf("a secret leaked:\n%s", out)
	}
}

func TestSessionMultiLineInput(t *testing.T) {
	out := testSession(t, deployProg, strings.Join([]string{
		`if ${ENV_REGION} == "eu" {`,
		`    gx.echo("in eu");`,
		`} else {`,
		`    gx.echo("elsewhere");`,
		`}`,
		`L = [`,
		`  "a",`,
		`  "b"`,
		`];`,
		`for ${I} in ${L} { gx.echo("item ${I}"); }`,
		`gx.echo("bad`,
		`:quit`,
	}, "\n")+"\n", nil)
	inOrder(t, out,
		"...> ", "in eu",
		"item a", "item b",
		"repl:11:9: error:",
	)
	if strings.Contains(out, "elsewhere") {
		t.Fatal(out)
	}
}

func TestSessionReloadKeepsBreakpoints(t *testing.T) {
	dir := ""
	out := testSession(t, deployProg, ":break deploy\n:reload\n:breaks\n:delete 1\n:breaks\n:quit\n", func(c *Config) { dir = filepath.Dir(c.File) })
	_ = dir
	inOrder(t, out, "breakpoint 1 at flow main.deploy", "work.gxl loaded", "1  flow main.deploy", "deleted breakpoint 1", "no breakpoints")
}

func TestSessionStartsWithABrokenFileAndReloads(t *testing.T) {
	out := testSession(t, deployProg, strings.Join([]string{
		`gx.echo("works without a program")`,
		`gx.cmd("cp work.gxl saved.gxl && echo 'mod main { flow f { gx.ech(1); } }' > work.gxl")`,
		`:reload`,
		`gx.cmd("cp saved.gxl work.gxl")`,
		`:reload`,
		`:run deploy`,
		`:skip`,
		`:quit`,
	}, "\n")+"\n", func(c *Config) { c.Program = nil })
	inOrder(t, out,
		"work.gxl is not loaded (built-ins only; fix it and :reload)",
		"works without a program",
		"unknown built-in `gx.ech`",
		"work.gxl was not loaded; the session goes on with what it had",
		"work.gxl loaded (2 modules, 5 flows), env default",
		"step failed: fn main.check",
		"run of deploy finished",
	)
}
