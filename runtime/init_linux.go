package runtime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"sandbox/fs"
	sbnet "sandbox/net"
	"sandbox/runtime/sigpipe"
	"sandbox/spec"
)

// InitMain is the init stage: pid 1 of the new pid namespace (or the only
// process of the sandbox without one). args are the fd numbers of the control
// pipe, the report pipe and the status pipe. It returns the exit status.
//
// Preconditions: the main goroutine is locked to the main OS thread.
func InitMain(argv0 string, args []string) int {
	fds, err := atoiAll(args, 3)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox: this is an internal entry point; run sandbox --help")
		return ExitSetup
	}
	// WARNING: before anything can fork, so that no descriptor of ours leaks
	// into the program; the caller's fds are passed on explicitly by number.
	unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	// Show as "bwrap" or "sandbox" in ps and /proc/1/comm, not "exe".
	setProcessName(filepath.Base(argv0))
	ctl, report, stat := os.NewFile(uintptr(fds[0]), "ctl"), os.NewFile(uintptr(fds[1]), "report"), os.NewFile(uintptr(fds[2]), "status")
	b, err := readFrame(ctl)
	if err != nil {
		return ExitSetup // the parent gave up before sending the spec
	}
	plan, err := decodePlan(b)
	if err != nil {
		return fail(report, err)
	}
	s := plan.Spec
	// The maps are written (the plan comes after them): from now on the
	// program, which runs as the same uid, must not ptrace us nor open
	// /proc/1/exe, mem or environ (the runc CVE-2019-5736 class).
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fail(report, fmt.Errorf("make init non-dumpable: %w", err))
	}

	var execStage *exec.Cmd
	var specW *os.File
	fork := plan.UseInit && canFork(plan)
	if plan.UseInit && !fork {
		// The exec stage is started now, while /proc/self/exe still names
		// this binary on the host; pivot_root below moves its root and cwd
		// along with ours (pivot_root(2)).
		execStage, specW, err = startExecStage(argv0, plan, report)
		if err != nil {
			return fail(report, fmt.Errorf("start the exec stage: %w", err))
		}
	}
	oldMask := unix.Umask(0) // modes given on the command line are exact
	root, err := setup(plan)
	if err != nil {
		if execStage != nil {
			execStage.Process.Kill()
		}
		return fail(report, err)
	}
	// The ops closed the fds they consumed; the numbers may be reused since
	// (by a lock file's fd, say), so nothing else is closed here.
	unix.Umask(oldMask)
	if !plan.UseInit {
		return execProgram(plan, report)
	}
	if !plan.PIDNS || defaultSignals() != nil {
		if err := absorbSignals(); err != nil {
			return fail(report, err)
		}
	}
	if fork {
		pid, code := forkProgram(plan, report)
		if pid < 0 {
			return code // reported
		}
		for _, fd := range plan.PassFDs {
			unix.Close(fd) // only the program needs them
		}
		report.Close() // the parent reads EOF: the program runs
		code = reap(pid, s, ctl, stat, false)
		runtime.KeepAlive(root)
		return code
	}
	if err := writeFrame(specW, b); err != nil {
		execStage.Process.Kill()
		return fail(report, fmt.Errorf("release the exec stage: %w", err))
	}
	specW.Close()
	report.Close()
	code := reap(execStage.Process.Pid, s, ctl, stat, plan.CgroupPayload != "")
	// The lock files stay open (and locked) while init lives: unreachable,
	// their *os.File finalizers would close them at the next collection.
	runtime.KeepAlive(root)
	return code
}

// setup builds the sandbox from inside its namespaces: hostname, loopback,
// the filesystem ops and pivot_root.
func setup(plan *Plan) (*fs.Root, error) {
	s := plan.Spec
	if s.Namespaces.UTS && s.HostnameSet {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return nil, &SetupError{Msg: "--hostname " + s.Hostname + ": " + err.Error(), BwrapMsg: "Can't set hostname to " + s.Hostname + ": " + errnoText(err), Exit: ExitSetup}
		}
	}
	if s.Namespaces.Net {
		if err := sbnet.LoopbackUp(); err != nil {
			return nil, err
		}
	}
	if plan.NetBuiltin {
		if err := sendTAP(plan.NetSock); err != nil {
			return nil, err
		}
	}
	if err := limitUserns(s, plan.SeccompBlocksUserns); err != nil {
		return nil, err
	}
	root, err := fs.Open(s.Ops)
	if err != nil {
		return nil, err
	}
	root.PIDNS = plan.PIDNS
	root.BwrapParents = s.Personality == spec.Bwrap
	root.Console = plan.Console
	if err := fs.Apply(s.Ops, root); err != nil {
		root.Close()
		return nil, err
	}
	if err := root.PivotRoot(); err != nil {
		return nil, err
	}
	if plan.NetBuiltin {
		// Only now: the stack starts while the root is built.
		if err := waitNetwork(plan.NetSock); err != nil {
			return nil, err
		}
	}
	return root, nil
}

// limitUserns does --disable-userns: the sandbox's own user namespace gets
// user.max_user_namespaces=0, which bounds every namespace created inside
// it; the program, without CAP_SYS_RESOURCE there, cannot raise it again.
// --assert-userns-disabled then tries to create one and fails if it can.
// Both use the host's /proc, so they run before pivot_root.
func limitUserns(s *spec.Spec, seccompBlocks bool) error {
	if s.DisableUserns {
		if err := os.WriteFile("/proc/sys/user/max_user_namespaces", []byte("0"), 0); err != nil {
			return &SetupError{Msg: "--disable-userns: set user.max_user_namespaces=0: " + err.Error(),
				BwrapMsg: "sysctl user.max_user_namespaces = 1: " + errnoText(err), Exit: ExitSetup}
		}
	}
	if !s.AssertUsernsDisabled || seccompBlocks {
		return nil // the default seccomp policy refuses them to the program
	}
	probe := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{"sandbox", StageNoop},
		Env:         []string{},
		SysProcAttr: &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER},
	}
	if err := probe.Run(); err == nil {
		return &SetupError{Msg: "--assert-userns-disabled: creating a user namespace inside the sandbox is still possible",
			BwrapMsg: "creation of new user namespaces was not disabled as requested",
			Hint:     "add --disable-userns", Exit: ExitSetup}
	}
	return nil
}

func startExecStage(argv0 string, plan *Plan, report *os.File) (*exec.Cmd, *os.File, error) {
	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	defer specR.Close()
	var extra []*os.File
	for _, fd := range plan.PassFDs {
		for len(extra) <= fd-3 {
			extra = append(extra, nil)
		}
		extra[fd-3] = os.NewFile(uintptr(fd), "fd"+strconv.Itoa(fd))
	}
	base := 3 + len(extra)
	extra = append(extra, specR, report)
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{argv0, StageExec, strconv.Itoa(base), strconv.Itoa(base + 1)},
		Env:         []string{},
		Stdin:       os.Stdin,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		ExtraFiles:  extra,
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	}
	if plan.CgroupPayload != "" {
		// The program's leaf, opened while the host's /sys is still in
		// our mount namespace: clone3(CLONE_INTO_CGROUP) starts the stage
		// in it, so it never runs outside its limits.
		cg, err := os.Open(plan.CgroupPayload)
		if err != nil {
			specW.Close()
			return nil, nil, fmt.Errorf("open the sandbox's cgroup: %w", err)
		}
		defer cg.Close()
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(cg.Fd())
	}
	if err := cmd.Start(); err != nil {
		specW.Close()
		return nil, nil, err
	}
	for _, fd := range plan.PassFDs {
		unix.Close(fd) // only the program needs them
	}
	return cmd, specW, nil
}

// absorbSignals (or, in a pid namespace, defaultSignals) makes init absorb
// the signals sent to it directly (a terminal's SIGINT to our process group,
// a process inside): the program gets the terminal's from the terminal, and
// the parent's forwarding arrives through ctl. Without it the Go runtime's
// default action (exit) would end init and the whole sandbox.
//
// WARNING: before the program starts, which it does as soon as init forks
// it: a SIGINT typed right after the program's first output used to find
// init without the handler (and killed it). A handler, not SIG_IGN:
// handlers are reset by execve, SIG_IGN would pass on to the program.
//
// The pipe's read end stays open and unread: a signal finding it full is
// dropped, which is all absorbing asks.
func absorbSignals() error {
	if _, err := sigpipe.Catch(forwardedSignals...); err != nil {
		return fmt.Errorf("catch the signals to absorb: %w", err)
	}
	return nil
}

// reap is pid 1's loop: it forwards the signals the parent passes on, reaps
// every child, reports the program's status to the parent when it exits and
// returns that status. The bwrap personality then waits for the remaining
// processes as bubblewrap does; the sandbox personality ends with the
// program (the kernel kills what is left when pid 1 exits).
//
// With hold (the sandbox has a cgroup), init stays until the parent closes
// ctl after the program's status: init's leaf keeps the cgroup populated, so
// systemd does not remove it before the parent has read the accounting.
func reap(child int, s *spec.Spec, ctl, stat *os.File, hold bool) int {
	parentDone := make(chan struct{})
	go func() {
		defer close(parentDone)
		var b [1]byte
		for {
			if n, err := ctl.Read(b[:]); n == 0 || err != nil {
				return
			}
			syscall.Kill(child, syscall.Signal(b[0]))
		}
	}()
	code := -1
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			break // ECHILD: nothing left
		}
		if pid != child {
			continue
		}
		code = ExitCode(ws)
		var b [4]byte
		b[0], b[1], b[2], b[3] = byte(code), byte(code>>8), byte(code>>16), byte(code>>24)
		stat.Write(b[:])
		stat.Close()
		if s.Personality != spec.Bwrap {
			if hold {
				<-parentDone
			}
			break
		}
	}
	if code < 0 {
		return ExitSetup
	}
	return code
}

// fail reports a setup error to the parent and returns the exit status.
func fail(report *os.File, err error) int {
	rep := Report{Msg: err.Error(), BwrapMsg: err.Error(), Exit: ExitSetup}
	var se *SetupError
	var oe *fs.OpError
	switch {
	case errors.As(err, &se):
		rep = Report{Msg: se.Msg, BwrapMsg: se.BwrapMsg, Hint: se.Hint, Exit: se.Exit}
	case errors.As(err, &oe):
		rep.BwrapMsg = oe.BwrapMsg()
		rep.Hint = opHint(oe)
	}
	WriteReport(report, rep)
	if rep.Exit == 0 {
		return ExitSetup
	}
	return rep.Exit
}

func opHint(oe *fs.OpError) string {
	switch oe.What {
	case "source":
		switch {
		case errors.Is(oe.Err, syscall.ENOENT):
			return fmt.Sprintf("create it, or use --%s-try to skip a missing source", oe.Op.Kind)
		case errors.Is(oe.Err, syscall.EACCES):
			return "you cannot read it; the sandbox only grants what you can already access"
		}
		return ""
	case "chmod":
		return "--chmod changes an existing path; create it first (--dir, --file)"
	}
	return ""
}

func atoiAll(args []string, n int) ([]int, error) {
	if len(args) != n {
		return nil, fmt.Errorf("want %d arguments", n)
	}
	out := make([]int, n)
	for i, a := range args {
		v, err := strconv.Atoi(a)
		if err != nil || v < 3 {
			return nil, fmt.Errorf("bad fd %q", a)
		}
		out[i] = v
	}
	return out, nil
}
