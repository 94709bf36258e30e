package shell

import (
	"context"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// maskingCtx masks one secret, as the runtime's masker does.
type maskingCtx struct {
	testCtx
	secret string
}

func (c *maskingCtx) Mask(s string) string { return strings.ReplaceAll(s, c.secret, "***") }

// TestFailedCommandTail: the error of a failed command ends with the tail
// of its error output, cut at a character (never inside one) and masked
// before it is cut (a secret cut in two would be shown in part).
func TestFailedCommandTail(t *testing.T) {
	const secret = "s3cr3t-value"
	for _, tc := range []struct {
		name, cmd string
		cut       bool // the tail is cut
	}{
		// 800 bytes from the end is the second byte of an é.
		{"multi-byte text", `printf 'x%.0s' $(seq 1 11) >&2; for i in $(seq 1 500); do printf 'é' >&2; done; printf z >&2; exit 1`, true},
		// Unmasked, the 800-byte cut falls inside the secret.
		{"secret at the cut", `printf '` + secret + `' >&2; head -c 794 /dev/zero | tr '\0' y >&2; exit 1`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &maskingCtx{testCtx: testCtx{ctx: context.Background(), dir: t.TempDir(), env: os.Environ(), quiet: true}, secret: secret}
			_, err := RunShell(c, tc.cmd, ShellOptions{Quiet: true})
			if err == nil {
				t.Fatal("no error")
			}
			_, tail, _ := strings.Cut(err.Error(), "\n")
			if !utf8.ValidString(tail) {
				t.Errorf("not UTF-8: %.20q", tail)
			}
			if strings.HasPrefix(tail, "…") != tc.cut {
				t.Errorf("tail not cut: %.40q", tail)
			}
			if strings.Contains(tail, "-value") {
				t.Errorf("part of the secret shown: %.40q", tail)
			}
		})
	}
}
