// Command spawnloop is the floor of make bench's shell rows: a minimal Go
// program that runs one command N times in a row, as any Go program that
// starts processes would.
//
//	spawnloop [-sync FILE] N CMD [ARG...]
//
// With -sync, before each command it appends a 200-byte record to FILE and
// makes it durable (fdatasync), as a program must that promises issue 11's
// guarantee (what a finished command did is on disk before the next one
// starts): the floor of row 3d.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

func main() {
	syncPath := flag.String("sync", "", "append and fdatasync a 200-byte record to this file before each command")
	flag.Usage = func() { fmt.Fprintln(os.Stderr, "usage: spawnloop [-sync FILE] N CMD [ARG...]") }
	flag.Parse()
	if flag.NArg() < 2 {
		flag.Usage()
		os.Exit(2)
	}
	n, err := strconv.Atoi(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "spawnloop: N:", err)
		os.Exit(2)
	}
	var journal *os.File
	if *syncPath != "" {
		if journal, err = os.OpenFile(*syncPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "spawnloop:", err)
			os.Exit(1)
		}
		defer journal.Close()
	}
	record := append(bytes.Repeat([]byte{'x'}, 199), '\n')
	for i := 0; i < n; i++ {
		if journal != nil {
			if _, err := journal.Write(record); err != nil {
				fmt.Fprintln(os.Stderr, "spawnloop:", err)
				os.Exit(1)
			}
			if err := syscall.Fdatasync(int(journal.Fd())); err != nil {
				fmt.Fprintln(os.Stderr, "spawnloop: fdatasync:", err)
				os.Exit(1)
			}
		}
		cmd := exec.Command(flag.Arg(1), flag.Args()[2:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "spawnloop:", err)
			os.Exit(1)
		}
	}
}
