package runtime

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gxl-dev/gxl/lang/check"
	"github.com/gxl-dev/gxl/stdlib"
)

// TestJournalPreallocated: a journal file is written over a zeroed tail
// (fileLog), which Close cuts off; a journal left with its tail (a
// crash) reads back as its records in every reader (Read, Summary,
// ReadJournal, resume), and nothing after a zero byte counts.
func TestJournalPreallocated(t *testing.T) {
	t.Setenv("GXL_JOURNAL_FSYNC", "")
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("mod envs { env default { } }\nmod main {\n    flow all {\n")
	for i := range 10 {
		fmt.Fprintf(&b, "        x%d = \"%d\";\n        gx.cmd(\"/bin/true\");\n", i, i)
	}
	b.WriteString("    }\n}\n")
	path := filepath.Join(dir, "work.gxl")
	prog, ds := check.CheckSource(path, []byte(b.String()), check.Options{Registry: stdlib.Default()})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	h := Header{File: path, Envs: []string{"default"}, Flows: []string{"all"}, Dir: dir}
	j, err := CreateJournal(dir, h)
	if err != nil {
		t.Fatal(err)
	}
	r := New(prog, Options{Dir: dir, Stdout: io.Discard, Stderr: io.Discard, Quiet: true,
		SecretsFile: filepath.Join(dir, "none"), Journal: j})
	if err := r.Run(context.Background(), []string{"default"}, []string{"all"}); err != nil {
		t.Fatal(err)
	}
	// Enough records to grow the tail past its first 64 KiB.
	for i := range 200 {
		j.write(record{Ev: "step", A: fmt.Sprint("s", i), Name: strings.Repeat("n", 500)}, effect)
	}
	// Before Close: records, then zeros to the end of the file.
	raw, err := os.ReadFile(j.Path)
	if err != nil {
		t.Fatal(err)
	}
	size := j.size
	if int64(len(raw)) <= size || size <= prealloc {
		t.Fatalf("file %d bytes, records %d: want a zeroed tail after more than %d bytes of records", len(raw), size, prealloc)
	}
	if bytes.IndexByte(raw[:size], 0) >= 0 || len(bytes.TrimRight(raw[size:], "\x00")) != 0 {
		t.Fatal("want records, then only zeros")
	}
	records := raw[:size]
	// A crash leaves the file as it is: copy it to a second run.
	crashed := NewRunID()
	if err := os.MkdirAll(filepath.Join(RunsDir(dir), crashed), 0o700); err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(RunsDir(dir), crashed, "journal")
	if err := os.WriteFile(cp, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(j.Path); bytes.IndexByte(after, 0) >= 0 || !bytes.HasPrefix(after, records) {
		t.Fatal("Close left zeros or lost records")
	}
	fs := Files(dir)
	if got, err := fs.Read(crashed); err != nil || !bytes.Equal(got, records) {
		t.Fatalf("Read: %d bytes (%v), want the %d bytes of records", len(got), err, len(records))
	}
	sum, err := fs.Summary(crashed)
	lastRec := records[bytes.LastIndexByte(records[:len(records)-1], '\n')+1 : len(records)-1]
	if err != nil || sum.Torn || !bytes.Equal(sum.Last, lastRec) {
		t.Fatalf("Summary: last %q torn %v (%v), want %q", sum.Last, sum.Torn, err, lastRec)
	}
	rs, err := ReadJournal(dir, crashed)
	if err != nil || len(rs.Finished()) == 0 {
		t.Fatalf("ReadJournal: %v, %d finished", err, len(rs.Finished()))
	}
	// Resume: appends after the records, not after the zeros.
	rj, err := OpenJournal(dir, crashed)
	if err != nil {
		t.Fatal(err)
	}
	if err := rj.Close(); err != nil {
		t.Fatal(err)
	}
	resumed, _ := os.ReadFile(cp)
	if bytes.IndexByte(resumed, 0) >= 0 || !strings.Contains(string(resumed), `"ev":"resume"`) {
		t.Fatalf("resumed journal has zeros or no resume record:\n%q", resumed[max(0, len(resumed)-200):])
	}
}

// TestParseRecordsStopsAtZero: what follows a zero byte (records that
// reached the disk out of order in the preallocated tail) is not read.
func TestParseRecordsStopsAtZero(t *testing.T) {
	for _, tc := range []struct {
		in        string
		recs, bad int
	}{
		{"{\"ev\":\"run\"}\n{\"ev\":\"done\",\"a\":\"1\"}\n", 2, 0},
		{"{\"ev\":\"run\"}\n\x00\x00\x00", 1, 0},
		{"{\"ev\":\"run\"}\n\x00\x00{\"ev\":\"done\",\"a\":\"2\"}\n", 1, 0},
		{"{\"ev\":\"run\"}\n{\"ev\":\"do\x00\x00\n{\"ev\":\"done\",\"a\":\"2\"}\n", 1, 1},
	} {
		recs, bad := parseRecords([]byte(tc.in))
		if len(recs) != tc.recs || bad != tc.bad {
			t.Errorf("%q: %d records, %d bad; want %d, %d", tc.in, len(recs), bad, tc.recs, tc.bad)
		}
	}
}
