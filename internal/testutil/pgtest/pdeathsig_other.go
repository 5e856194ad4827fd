//go:build unix && !linux

package pgtest

import "syscall"

// setParentDeathSignal has no equivalent here: a killed test binary may leave
// its server running (Main stops it on a normal exit).
func setParentDeathSignal(*syscall.SysProcAttr) {}
