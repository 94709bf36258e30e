package runtime_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/runtime"
)

// The effects a preview finds: which statements change something and
// will really run, from what is known before the run.
func TestPreviewEffects(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		dryRun     bool
		sets       map[string]value.Value
		want       []string // "line name [maybe]"
	}{
		{"pure and reads are no effects", `gx.echo("a"); gx.read_file(file: "x.yml", name: "X");`, false, nil, nil},
		{"commands and changes", "gx.cmd(\"true\");\n```cmd\ntrue\n```\ngx.tpl(tpl: \"a\", dst: \"b\");", false, nil,
			[]string{"1 gx.cmd", "2 command", "5 gx.tpl"}},
		{"a known false condition skips its branch", `if ${GXL_CMD_DRYRUN} { gx.echo("dry"); } else { gx.cmd("rm x"); }`, true, nil, nil},
		{"a known true condition keeps its branch only", `if ${GXL_CMD_DRYRUN} { gx.cmd("a"); } else { gx.cmd("b"); }`, true, nil,
			[]string{"1 gx.cmd"}},
		{"a condition known at run time keeps every branch", `gx.read_cmd(name: "S", cmd: "x"); if ${S} == "1" { gx.cmd("a"); } else { gx.echo("b"); }`, false, nil,
			[]string{"1 gx.read_cmd", "1 gx.cmd maybe"}},
		{"a --set decides a condition", `if ${GO:yes} == "yes" { gx.cmd("a"); }`, false, map[string]value.Value{"GO": value.Str("no")}, nil},
		{"an assignment from a run-time value is unknown", `gx.read_cmd(name: "S", cmd: "x"); T = "${S}"; if ${T} == "" { gx.cmd("a"); }`, false, nil,
			[]string{"1 gx.read_cmd", "1 gx.cmd maybe"}},
		{"a dry-run substitute replaces its flow", `gx.echo("x");`, true, nil, nil},
		{"gx.run cannot be expanded", `gx.run(local: ".", env: "default", flow: "f");`, false, nil, []string{"1 gx.run"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := "mod envs { env default { } }\nmod main {\n#[dryrun(_alt)]\nflow f {\n" + tc.body + "\n}\nflow _alt { gx.cmd(\"alt\"); }\n}\n"
			if tc.name != "a dry-run substitute replaces its flow" {
				src = "mod envs { env default { } }\nmod main {\nflow f {\n" + tc.body + "\n}\n}\n"
			}
			file := filepath.Join(dir, "w.gxl")
			os.WriteFile(file, []byte(src), 0o644)
			prog := load(t, file)
			r := runtime.New(prog, runtime.Options{Dir: dir, DryRun: tc.dryRun, Sets: tc.sets, SecretsFile: filepath.Join(dir, "none.yml")})
			ps, err := r.Preview(context.Background(), []string{"default"}, []string{"f"}, runtime.PreviewOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			base := 3 // the body starts on line 4
			for _, e := range runtime.Effects(ps) {
				s := strings.TrimSpace(strings.Join([]string{strconv.Itoa(e.At.Line - base), e.Name}, " "))
				if e.Maybe {
					s += " maybe"
				}
				got = append(got, s)
			}
			if tc.name == "a dry-run substitute replaces its flow" {
				// Only the substitute's own command, on line 7.
				if len(got) != 1 || !strings.HasSuffix(got[0], "gx.cmd") || ps[0].Steps[len(ps[0].Steps)-1].DryRunOf != "main.f" {
					t.Fatalf("effects %v", got)
				}
				return
			}
			if strings.Join(got, "; ") != strings.Join(tc.want, "; ") {
				t.Errorf("effects\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}
