package mask

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

var cases = []struct {
	name    string
	secrets []string
	in      string
	want    string
}{
	{"no secret in the text", []string{"hunter2"}, "plain text\nsecond line\n", "plain text\nsecond line\n"},
	{"no secrets at all", nil, "hunter2\n", "hunter2\n"},
	{"one secret", []string{"hunter2"}, "pw=hunter2\n", "pw=***\n"},
	{"twice", []string{"hunter2"}, "hunter2 and hunter2", "*** and ***"},
	{"adjacent occurrences are one run", []string{"hunter2"}, "hunter2hunter2!", "***!"},
	{"overlapping secrets", []string{"abcdef", "xabc"}, "1xabcdef2", "1***2"},
	{"overlap the other way", []string{"xabc", "cdef"}, "-xabcdef-", "-***-"},
	{"prefix secrets", []string{"hunter", "hunter2"}, "hunter2 hunter hunte", "*** *** hunte"},
	{"a secret inside another", []string{"secret-token", "token"}, "a secret-token and a token", "a *** and a ***"},
	{"self-overlapping secret", []string{"aaa"}, "baaaab", "b***b"},
	{"partial secret at the end is text", []string{"hunter2"}, "xx hunte", "xx hunte"},
	{"too short to mask", []string{"ab"}, "ab cab", "ab cab"},
	{"utf-8 secret", []string{"pässwörd"}, "x pässwörd y", "x *** y"},
	{"secret at both ends", []string{"s3cr3t"}, "s3cr3t middle s3cr3t", "*** middle ***"},
}

func TestString(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := New(c.secrets...).String(c.in); got != c.want {
				t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

// TestWriterSplits writes every case in two and in three pieces, split at
// every byte boundary: the output after Close is the masked text, and the
// secret never appears in it.
func TestWriterSplits(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(c.secrets...)
			check := func(pieces ...string) {
				t.Helper()
				var out bytes.Buffer
				w := s.Writer(&out)
				for _, p := range pieces {
					if n, err := w.Write([]byte(p)); err != nil || n != len(p) {
						t.Fatalf("Write(%q) = %d, %v", p, n, err)
					}
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if out.String() != c.want {
					t.Fatalf("pieces %q: got %q, want %q", pieces, out.String(), c.want)
				}
			}
			for i := 0; i <= len(c.in); i++ {
				check(c.in[:i], c.in[i:])
				for j := i; j <= len(c.in); j++ {
					check(c.in[:i], c.in[i:j], c.in[j:])
				}
			}
			// One byte at a time.
			var bytesIn []string
			for i := 0; i < len(c.in); i++ {
				bytesIn = append(bytesIn, c.in[i:i+1])
			}
			check(bytesIn...)
		})
	}
}

// TestWriterHoldsBackOnlyAPossibleStart: text that cannot start a secret
// is passed on by Write itself; a tail that could is held until it is
// decided or the stream ends.
func TestWriterHoldsBackOnlyAPossibleStart(t *testing.T) {
	var out bytes.Buffer
	w := New("hunter2").Writer(&out)
	steps := []struct{ write, shown string }{
		{"hello\n", "hello\n"},
		{"pw=hun", "hello\npw="},
		{"ter", "hello\npw="},
		{"2 ok\n", "hello\npw=*** ok\n"},
		{"end hunt", "hello\npw=*** ok\nend "},
	}
	for _, st := range steps {
		w.Write([]byte(st.write))
		if out.String() != st.shown {
			t.Fatalf("after %q: shown %q, want %q", st.write, out.String(), st.shown)
		}
	}
	w.Flush()
	if want := "hello\npw=*** ok\nend hunt"; out.String() != want {
		t.Fatalf("after Flush: %q, want %q", out.String(), want)
	}
	// After a flush the writer starts afresh.
	w.Write([]byte("hunter2"))
	w.Close()
	if want := "hello\npw=*** ok\nend hunt***"; out.String() != want {
		t.Fatalf("after Close: %q, want %q", out.String(), want)
	}
}

// TestWriterConcurrent: commands in a pipeline write to one writer at
// once; every write is whole (run with -race).
func TestWriterConcurrent(t *testing.T) {
	var out bytes.Buffer
	w := New("hunter2").Writer(&out)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				w.Write([]byte("x hunter2 y\n"))
			}
		}()
	}
	wg.Wait()
	w.Close()
	if strings.Contains(out.String(), "hunter") || strings.Count(out.String(), "x *** y\n") != 800 {
		t.Fatalf("concurrent output is wrong: %q", out.String()[:min(200, out.Len())])
	}
}

func TestContainsAndTexts(t *testing.T) {
	s := New("ab", "hunter", "hunter2", "hunter")
	if got := strings.Join(s.Texts(), ","); got != "hunter2,hunter" {
		t.Fatalf("Texts = %q", got)
	}
	if !s.Contains("x hunter y") || s.Contains("x hunte y") || s.Contains("ab") {
		t.Fatal("Contains is wrong")
	}
	var none *Set
	if none.Len() != 0 || none.Contains("x") || none.String("hunter2") != "hunter2" {
		t.Fatal("the nil Set must mask nothing")
	}
}

// TestCore: the message and the fields of log entries are masked.
func TestCore(t *testing.T) {
	obs, logs := observer.New(zapcore.DebugLevel)
	s := New("hunter2")
	log := zap.New(Core(obs, func() *Set { return s }))
	log.With(zap.String("with", "w hunter2")).Info("msg hunter2",
		zap.String("s", "a hunter2 b"), zap.Strings("list", []string{"ok", "hunter2"}),
		zap.Error(errString("failed: hunter2")), zap.Int("n", 7))
	all := logs.All()
	if len(all) != 1 {
		t.Fatalf("%d entries", len(all))
	}
	e := all[0]
	if e.Message != "msg ***" {
		t.Errorf("message %q", e.Message)
	}
	for k, v := range e.ContextMap() {
		if text := fmt.Sprint(v); strings.Contains(text, "hunter2") {
			t.Errorf("field %s shows the secret: %q", k, text)
		}
	}
	if e.ContextMap()["n"] != int64(7) {
		t.Errorf("numbers must pass unchanged: %v", e.ContextMap()["n"])
	}
}

type errString string

func (e errString) Error() string { return string(e) }
