// Package testprog generates large, realistic GXL programs for benchmarks.
package testprog

import (
	"fmt"
	"strings"
)

// Generate builds a program of about n lines: many modules, each with a
// property, an annotated flow, a list, a loop, a condition and commands.
func Generate(n int) []byte {
	var b strings.Builder
	b.WriteString("mod envs {\n    env default { root = \".\"; gx.vars { APP = \"shop\"; } }\n}\n")
	for i, lines := 0, 3; lines < n; i++ {
		fmt.Fprintf(&b, "mod m%d {\n    tag = \"v%d\";\n    #[usage(desp=\"flow %d\")]\n    flow f%d {\n", i, i, i, i)
		fmt.Fprintf(&b, "        items = [\"a\", \"b\", %d];\n        gx.echo(\"building ${APP} ${M%d_TAG}\");\n", i, i)
		b.WriteString("        for ${I} in ${ITEMS} { gx.echo(\"item ${I}\"); }\n")
		b.WriteString("        if ${ENV_ROOT} == \".\" && defined(${APP}) {\n            gx.cmd(\"echo ${APP} > /dev/null\");\n        } else {\n            gx.echo(\"none\");\n        }\n    }\n}\n")
		lines += 14
	}
	return []byte(b.String())
}

// JournalGrowth is the shape that once wrote a journal of 85 times the
// data: a JSON document of about size bytes (big.json) read into a
// variable, then flows of one gx.echo each. It returns the JSON and the
// workflow, whose flow `all` runs the read and then the flows.
func JournalGrowth(size, flows int) (jsonData, workflow []byte) {
	var js strings.Builder
	js.WriteString(`{"items": [`)
	for i := 0; js.Len() < size; i++ {
		if i > 0 {
			js.WriteString(",")
		}
		fmt.Fprintf(&js, `{"id": %d, "name": "item-%d", "tags": ["a", "b"], "ok": true, "ratio": 0.%d}`, i, i, i%97+1)
	}
	js.WriteString("]}")
	var src strings.Builder
	src.WriteString("mod envs { env default { } }\nmod main {\n    flow load { gx.read_file(file: \"big.json\", name: \"BIG\"); }\n")
	names := []string{"load"}
	for i := 0; i < flows; i++ {
		fmt.Fprintf(&src, "    flow f%d { gx.echo(\"step %d\"); }\n", i, i)
		names = append(names, fmt.Sprintf("f%d", i))
	}
	fmt.Fprintf(&src, "    flow all | %s;\n}\n", strings.Join(names, " | "))
	return []byte(js.String()), []byte(src.String())
}
