package runtime

import (
	"os"
	"runtime"
	"syscall"
)

// canFork says whether init can start the program itself (forkProgram)
// instead of through the exec stage, a second Go process that costs a
// runtime start-up (about a third of a sandbox's start). It cannot when
// what the program needs is per process, not per thread, or would apply
// to the fork itself:
//   - cgroup limits: the program is started into its leaf with
//     clone3(CLONE_INTO_CGROUP), which the default seccomp policy answers
//     with ENOSYS, and its late cgroup namespace is made by unshare;
//   - rlimits: setrlimit is per process, and init must keep its own;
//   - the caller's seccomp filters: bubblewrap loads them just before
//     execve, so they may refuse what the fork needs (a filter that
//     refuses clone, say).
func canFork(plan *Plan) bool {
	return plan.CgroupPayload == "" && !plan.LateCgroupNS &&
		len(plan.UserFilters) == 0 && len(plan.Spec.Limits.Rlimits) == 0
}

// forkProgram starts the program as init's child, from a thread of init that
// is confined first (capabilities, no_new_privs, Landlock and seccomp are
// per thread and a child inherits its parent thread's), and returns its pid;
// or -1 and the exit status once the failure is reported.
//
// WARNING: the confined thread is never unlocked, so no other goroutine runs
// on it, and the runtime never clones a new thread from it (a locked
// thread's new Ms come from the template thread). It is kept after the fork
// (its goroutine blocks for good): the program's parent-death signal fires
// when the thread that forked it exits, not the process.
func forkProgram(plan *Plan, report *os.File) (pid, code int) {
	type result struct{ pid, code int }
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		pid, code := confineAndFork(plan, report)
		done <- result{pid, code}
		if pid > 0 {
			select {}
		}
		// A failed thread ends with its goroutine (it is locked).
	}()
	r := <-done
	return r.pid, r.code
}

func confineAndFork(plan *Plan, report *os.File) (pid, code int) {
	s := plan.Spec
	prog, err := confine(plan)
	if err != nil {
		return -1, fail(report, err)
	}
	err = prog.lookErr
	if err == nil {
		// The standard streams and the caller's fds keep their numbers;
		// the gaps between are closed in the child (init's own fds are
		// close-on-exec anyway).
		files := []uintptr{0, 1, 2}
		for _, fd := range plan.PassFDs {
			for len(files) <= fd {
				files = append(files, ^uintptr(0))
			}
			files[fd] = uintptr(fd)
		}
		// As with the exec stage, which init starts with it: the program
		// dies with init (and without a pid namespace, init is not the
		// one whose exit kills everything).
		attr := &syscall.ProcAttr{Env: prog.env, Files: files,
			Sys: &syscall.SysProcAttr{Setsid: s.NewSession, Pdeathsig: syscall.SIGKILL}}
		pid, err = syscall.ForkExec(prog.path, prog.argv, attr)
		if err == nil {
			return pid, 0
		}
	}
	return -1, execFailed(report, s, prog.env, err)
}
