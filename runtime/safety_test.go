package runtime_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/runtime"
)

func writeProgram(t *testing.T, src string) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "work.gxl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestShellInjection: values holding shell syntax stay data in every quoting
// context, while a flag list still splits into separate arguments.
func TestShellInjection(t *testing.T) {
	payloads := []string{
		`"; touch pwned; echo "`,
		`$(touch pwned)`,
		"`touch pwned`",
		`a|touch pwned`,
		`x'; touch pwned; echo '`,
		`; rm -rf $HOME; echo x`,
	}
	for _, p := range payloads {
		t.Run(p, func(t *testing.T) {
			dir := writeProgram(t, `
mod envs { env default { } }
mod main {
    flow test {
        gx.cmd("echo ${EVIL} > unquoted.txt");
        gx.cmd("echo \"${EVIL}\" > double.txt");
        gx.cmd("echo '${EVIL}' > single.txt");
        gx.read_cmd(name: "BACK", cmd: "printf '%s' \"${EVIL}\"");
        gx.assert(value: "${BACK}", expect: "${EVIL}");
    }
}`)
			res := runCase(t, dir, []string{"test"}, runtime.Options{Sets: map[string]value.Value{"EVIL": value.Str(p)}, Quiet: true})
			if res.err != nil {
				t.Fatalf("run: %v\n%s", res.err, res.stderr)
			}
			if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
				t.Fatalf("payload %q ran as code", p)
			}
			for _, f := range []string{"double.txt", "single.txt"} {
				b, _ := os.ReadFile(filepath.Join(dir, f))
				if strings.TrimSuffix(string(b), "\n") != p {
					t.Errorf("%s = %q, want %q", f, b, p)
				}
			}
		})
	}
}

func TestFlagsStillSplit(t *testing.T) {
	dir := writeProgram(t, `
mod envs { env default { } }
mod main {
    flow test {
        flags = "-d 3";
        empty = "";
        gx.read_cmd(name: "N", cmd: "set -- ${FLAGS} ${EMPTY}; echo $#");
        gx.assert(value: "${N}", expect: "2");
        gx.read_cmd(name: "Q", cmd: "set -- \"${FLAGS}\"; echo $#");
        gx.assert(value: "${Q}", expect: "1");
    }
}`)
	if res := runCase(t, dir, []string{"test"}, runtime.Options{Quiet: true}); res.err != nil {
		t.Fatalf("%v", res.err)
	}
}

// TestSecretMasking: SEC_* values and values derived from them print as ***
// in echo output, command logs and errors.
func TestSecretMasking(t *testing.T) {
	dir := writeProgram(t, `
mod envs { env default { } }
mod main {
    flow test {
        gx.echo("token=${SEC_TOKEN}");
        derived = "Bearer ${SEC_TOKEN}";
        gx.echo("${DERIVED}");
        gx.cmd("echo cmd-output ${SEC_TOKEN}");
        gx.assert(value: "${SEC_TOKEN}", expect: "other", err: "bad ${SEC_TOKEN}");
    }
}`)
	sec := filepath.Join(dir, "sec.yml")
	os.WriteFile(sec, []byte("token: s3cr3t-value\n"), 0o600)
	res := runCase(t, dir, []string{"test"}, runtime.Options{SecretsFile: sec})
	if res.err == nil {
		t.Fatal("assert should fail")
	}
	all := res.stdout + res.stderr + res.err.Error()
	if strings.Contains(all, "s3cr3t-value") {
		t.Fatalf("secret leaked:\n%s", all)
	}
	// A value derived from a secret is secret as a whole.
	if !strings.Contains(res.stdout, "token=***\n***\n") || !strings.Contains(res.stdout, "cmd-output ***") {
		t.Fatalf("stdout not masked as expected:\n%s", res.stdout)
	}
}

func TestRetryAndTimeout(t *testing.T) {
	dir := writeProgram(t, `
mod envs { env default { } }
mod main {
    #[retry(attempts=3, delay="10ms", backoff=2.0)]
    flow flaky {
        gx.cmd("echo x >> attempts.txt; test $(wc -l < attempts.txt) -ge 3");
    }
    #[retry(attempts=2, delay="1ms")]
    flow always_fails { gx.cmd("false"); }
    #[timeout("200ms")]
    flow slow { gx.cmd("sleep 5"); }
}`)
	res := runCase(t, dir, []string{"flaky"}, runtime.Options{Quiet: true})
	if res.err != nil {
		t.Fatalf("flaky should pass on the third attempt: %v", res.err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "attempts.txt"))
	if n := strings.Count(string(b), "x"); n != 3 {
		t.Fatalf("attempts = %d, want 3", n)
	}
	// The failure keeps the failing statement's position and says how many
	// tries were made.
	if res := runCase(t, dir, []string{"always_fails"}, runtime.Options{Quiet: true}); res.err == nil ||
		!strings.Contains(res.err.Error(), "work.gxl:9:25: main.always_fails: ") || !strings.Contains(res.err.Error(), "after 2 attempts: ") {
		t.Fatalf("always_fails: err = %v", res.err)
	}
	began := time.Now()
	res = runCase(t, dir, []string{"slow"}, runtime.Options{Quiet: true})
	if res.err == nil || !strings.Contains(res.err.Error(), "timed out") {
		t.Fatalf("slow: err = %v", res.err)
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Fatalf("timeout did not stop the command (took %s)", d)
	}
}

// TestCancelRunsUndo: cancelling the run (SIGINT/SIGTERM in the CLI) stops
// the running command and compensates the open transaction.
func TestCancelRunsUndo(t *testing.T) {
	dir := writeProgram(t, `
mod envs { env default { } }
mod main {
    flow all | step1 | step2;
    #[transaction, undo(_undo1)]
    flow step1 { gx.cmd("touch done1"); }
    #[undo(_undo2)]
    flow step2 { gx.cmd("sleep 30"); }
    flow _undo1 { gx.cmd("rm done1; touch undone1"); }
    flow _undo2 { gx.cmd("touch undone2"); }
}`)
	prog := load(t, filepath.Join(dir, "work.gxl"))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for i := 0; i < 100; i++ {
			if _, err := os.Stat(filepath.Join(dir, "done1")); err == nil {
				time.Sleep(100 * time.Millisecond)
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
	}()
	began := time.Now()
	r := runtime.New(prog, runtime.Options{Dir: dir, Quiet: true, SecretsFile: filepath.Join(dir, "none")})
	err := r.Run(ctx, []string{"default"}, []string{"all"})
	if err == nil {
		t.Fatal("cancelled run succeeded")
	}
	if time.Since(began) > 10*time.Second {
		t.Fatal("cancel did not stop the command")
	}
	for _, f := range []string{"undone1", "undone2"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s missing: undo did not run", f)
		}
	}
}

// TestDerivedSecrets: secrecy belongs to the value (spec I.4). A value
// computed from a secret — interpolated, copied, passed to a fn, printed
// by a command — is secret itself, so it prints as *** as a whole (a
// public value holding a secret would show only the secret part masked),
// even when the secret is too short to be found in text.
func TestDerivedSecrets(t *testing.T) {
	dir := writeProgram(t, `
mod envs { env default { } }
mod main {
    fn show(*v) { gx.echo("fn ${v}"); }
    flow test {
        dsn = "postgres://u:${SEC_X}@h";
        gx.echo("dsn ${DSN}");
        copy = ${DSN};
        gx.echo("copy ${COPY}");
        again = "${DSN}/db";
        gx.echo("again ${AGAIN}");
        list = ["a", "${SEC_X}"];
        gx.echo("list ${LIST}");
        fromlist = "${LIST}";
        gx.echo("fromlist ${FROMLIST}");
        show(v: "user:${SEC_X}");
        pin = "pin ${SEC_PIN}";
        gx.echo("short ${PIN}");
        pins = ["p${SEC_PIN}"];
        frompins = "${PINS}";
        gx.echo("re-expanded ${FROMPINS}");
        gx.echo("declared ${DB_PASS:none}");
        gx.echo("setsec ${SEC_Y}");
        gx.read_cmd(name: "OUT", cmd: "printf 'user=%s' \"$SEC_X\"");
        gx.echo("read_cmd ${OUT}");
        gx.read_cmd(name: "PLAIN", cmd: "printf 'nothing secret'");
        gx.echo("plain ${PLAIN}");
        gx.cmd("sh -c 'printf hun; sleep 0.3; printf \"ter2 in pieces\\n\"; printf hun >&2; sleep 0.3; printf \"ter2 in pieces\\n\" >&2'");
    }
}`)
	res := runCase(t, dir, []string{"test"}, runtime.Options{
		Sets: map[string]value.Value{
			"SEC_X": value.Str("hunter2"), "SEC_PIN": value.Str("42"), "SEC_Y": value.Str("set-secret"),
			"DB_PASS": value.Str("override-pw"),
		},
		// A system variable declared secret: true, overridden by --set.
		Extra: map[string]value.Value{"DB_PASS": value.Str("declared-pw").AsSecret()},
	})
	if res.err != nil {
		t.Fatalf("%v\n%s%s", res.err, res.stdout, res.stderr)
	}
	for _, want := range []string{
		"dsn ***\n", "copy ***\n", "again ***\n", "list [\"a\",\"***\"]\n", "fromlist ***\n", "fn ***\n", "short ***\n", "re-expanded ***\n",
		"declared ***\n", "setsec ***\n", "read_cmd ***\n", "plain nothing secret\n",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	all := res.stdout + res.stderr
	for _, leak := range []string{"hunter2", "pin 42", "p42", "override-pw", "declared-pw", "set-secret"} {
		if strings.Contains(all, leak) {
			t.Errorf("%q leaked", leak)
		}
	}
	// The command printed the secret in two pieces 0.3 s apart, on
	// stdout and on stderr.
	if !strings.Contains(res.stdout, "*** in pieces\n") || !strings.Contains(res.stderr, "*** in pieces\n") {
		t.Errorf("the secret printed in pieces is not masked:\nstdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	}
}

// TestScopeMaskerFollowsChanges: the cached masker is rebuilt when a
// secret is set, replaced or deleted, in a scope and in its copies.
func TestScopeMaskerFollowsChanges(t *testing.T) {
	s := runtime.NewScope()
	s.Set("SEC_A", value.Str("alpha-secret"))
	if s.Mask("x alpha-secret") != "x ***" {
		t.Fatal("SEC_A not masked")
	}
	c := s.Clone()
	c.Set("B", value.Str("beta-secret").AsSecret())
	if c.Mask("alpha-secret beta-secret") != "*** ***" || s.Mask("beta-secret") != "beta-secret" {
		t.Fatal("the copy's masker must follow the copy only")
	}
	c.Delete("SEC_A")
	if got := c.Mask("alpha-secret beta-secret"); got != "alpha-secret ***" {
		t.Fatalf("a deleted secret is still masked: %q", got)
	}
	c.Set("B", value.Str("public"))
	if got := c.Mask("alpha-secret beta-secret"); got != "alpha-secret beta-secret" {
		t.Fatalf("a replaced secret is still masked: %q", got)
	}
	if s.Mask("alpha-secret") != "***" {
		t.Fatal("the original lost its secret")
	}
	// A value stored after a secret is known and printing it is secret.
	s.Set("OUT", value.Str("token: alpha-secret"))
	if v, _ := s.Get("OUT"); !v.Secret() {
		t.Fatal("a value holding a secret's text must be secret")
	}
}
