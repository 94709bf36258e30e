//go:build !linux

package sysops

import "time"

// fileStamp: elsewhere than Linux the change time is not read, and the
// files of a cached entry are read again at every use.
type fileStamp struct{}

func stampOf(string) (fileStamp, bool) { return fileStamp{}, false }

func (fileStamp) settled(time.Time) bool { return false }
