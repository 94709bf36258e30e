//go:build race

package main

// raceBuild makes TestMain build the gxl binary with -race too, so the
// sessions driven through a pseudo-terminal are checked for data races.
const raceBuild = true
