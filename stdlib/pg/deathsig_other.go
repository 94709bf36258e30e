//go:build !linux

package pg

import "syscall"

// dieWithGxl: only Linux has a parent-death signal; elsewhere the program
// outlives a killed gxl (its process group is still killed when the
// context ends).
func dieWithGxl(*syscall.SysProcAttr) (release func()) { return func() {} }
