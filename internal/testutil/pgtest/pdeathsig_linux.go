package pgtest

import "syscall"

// setParentDeathSignal makes the kernel send the server SIGQUIT (immediate
// shutdown) if the test binary dies without running Main's cleanup (killed,
// or a test timeout), so no server outlives its tests.
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGQUIT }
