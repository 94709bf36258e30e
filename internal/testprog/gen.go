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
