// Command spawnloop is the floor of make bench's shell rows: a minimal Go
// program that runs one command N times in a row, as any Go program that
// starts processes would.
//
//	spawnloop N CMD [ARG...]
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: spawnloop N CMD [ARG...]")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "spawnloop: N:", err)
		os.Exit(2)
	}
	for i := 0; i < n; i++ {
		cmd := exec.Command(os.Args[2], os.Args[3:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "spawnloop:", err)
			os.Exit(1)
		}
	}
}
