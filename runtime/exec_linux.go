package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"sandbox/limits"
	"sandbox/secure"
	"sandbox/spec"
)

// ExecMain is the exec stage: started by init before the root was built, it
// waits for the plan (sent once the root is complete), then becomes the
// program. args are the fd numbers of the plan pipe and the report pipe.
//
// Preconditions: the main goroutine is locked to the main OS thread, which
// is the thread that calls execve.
func ExecMain(args []string) int {
	fds, err := atoiAll(args, 2)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox: this is an internal entry point; run sandbox --help")
		return ExitSetup
	}
	unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	// Until it becomes the program, the stage holds the sandbox's plan and
	// capabilities: nothing inside may ptrace it or read its memory.
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	in, report := os.NewFile(uintptr(fds[0]), "plan"), os.NewFile(uintptr(fds[1]), "report")
	b, err := readFrame(in)
	in.Close()
	if err != nil {
		return ExitSetup // init failed and has reported why
	}
	plan, err := decodePlan(b)
	if err != nil {
		return fail(report, err)
	}
	return execProgram(plan, report)
}

// execProgram does the last steps and executes the program. It returns only
// on failure, with the exit status.
//
// WARNING: the order is part of the security model (see confine); setsid,
// the parent-death signal and the late cgroup namespace come first, while
// the stage still holds its privileges.
func execProgram(plan *Plan, report *os.File) int {
	s := plan.Spec
	if s.NewSession {
		if _, err := unix.Setsid(); err != nil {
			return fail(report, &SetupError{Msg: "--new-session: setsid: " + err.Error(), BwrapMsg: "setsid: " + errnoText(err), Exit: ExitSetup})
		}
	}
	if s.DieWithParent {
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0); err != nil {
			return fail(report, fmt.Errorf("--die-with-parent: %w", err))
		}
	}
	if err := enterLateCgroupNS(plan); err != nil {
		return fail(report, err)
	}
	prog, err := confine(plan)
	if err != nil {
		return fail(report, err)
	}
	err = prog.lookErr
	if err == nil {
		for _, fd := range plan.PassFDs {
			unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0)
		}
		err = unix.Exec(prog.path, prog.argv, prog.env)
	}
	return execFailed(report, s, prog.env, err)
}

// program is what confine found to execute.
type program struct {
	path      string
	argv, env []string
	lookErr   error // from the PATH search: reported as an exec failure
}

// confine does the steps that both ways of starting the program share, on
// the calling thread, which is the one that then executes the program
// (execProgram) or forks it (forkProgram): the working directory, the
// capability drop with no_new_privs, Landlock, --block-fd, rlimits and the
// seccomp filters; then it finds the program on PATH.
//
// Preconditions: the OS thread is locked.
//
// WARNING: the order is part of the security model. Capabilities are dropped
// and no_new_privs is set after everything that needs privilege (chdir may
// cross directories only root could), and nothing after the drop may fail
// open. Capabilities, no_new_privs, the Landlock domain and seccomp filters
// are per thread: they hold for this thread and what it starts, not for the
// other threads of the process.
func confine(plan *Plan) (*program, error) {
	s := plan.Spec
	cwd, err := chooseCwd(s, plan)
	if err != nil {
		return nil, err
	}
	env := spec.ApplyEnv(plan.Env, []spec.EnvOp{{Kind: spec.EnvSet, Name: "PWD", Value: cwd}})
	last := plan.LastCap
	keep := secure.CapSet(plan.Keep)
	if _, perm, err := secure.Current(); err == nil {
		// ALL means what this process can have; a capability asked for by
		// name that the host withholds is an error.
		if missing := secure.Named(s.Caps, last) &^ perm; missing != 0 {
			return nil, &SetupError{Msg: fmt.Sprintf("--cap-add: capabilities %#x are not available to the sandbox (the host withholds them)", uint64(missing)),
				BwrapMsg: "capset failed: Operation not permitted", Exit: ExitSetup}
		}
		keep &= perm
	}
	if err := secure.DropCaps(keep, last); err != nil {
		return nil, &SetupError{Msg: "drop capabilities: " + err.Error(), BwrapMsg: err.Error(), Exit: ExitSetup}
	}
	// Landlock needs no_new_privs (set by DropCaps) and must come before
	// seccomp, whose policy refuses nothing Landlock uses.
	if plan.Landlock {
		if _, err := secure.ApplyLandlock(secure.LandlockRules(s.Ops)); err != nil {
			return nil, &SetupError{Msg: "landlock: " + err.Error(), BwrapMsg: "landlock: " + err.Error(),
				Hint: "--no-landlock turns this layer off", Exit: ExitSetup}
		}
	}
	if s.BlockFD != spec.NoFD {
		waitFD(s.BlockFD)
	}
	if err := limits.ApplyRlimits(s.Limits.Rlimits); err != nil {
		return nil, &SetupError{Msg: err.Error(), Exit: ExitSetup}
	}
	// WARNING: seccomp last: once loaded, the calls it refuses (mount,
	// chroot...) are gone for us too. The caller's filters stack after ours;
	// they can change which errno a refused call gets, never allow it.
	if plan.Seccomp != nil {
		if err := secure.LoadFilter(plan.Seccomp); err != nil {
			return nil, &SetupError{Msg: "seccomp: " + err.Error(), BwrapMsg: "prctl(PR_SET_SECCOMP): " + errnoText(err), Exit: ExitSetup}
		}
	}
	for _, prog := range plan.UserFilters {
		if err := secure.LoadFilter(prog); err != nil {
			return nil, &SetupError{Msg: "--seccomp: load the filter: " + err.Error(), BwrapMsg: "prctl(PR_SET_SECCOMP): " + errnoText(err), Exit: ExitSetup}
		}
	}
	p := &program{argv: append([]string(nil), s.Command...), env: env}
	p.path, p.lookErr = lookPath(s.Command[0], envValue(env, "PATH"))
	if p.lookErr == nil && s.Argv0 != "" {
		p.argv[0] = s.Argv0
	}
	return p, nil
}

// execFailed reports that the program could not be executed and returns
// the exit status (127 when it was not found, 126 otherwise).
func execFailed(report *os.File, s *spec.Spec, env []string, err error) int {
	rep := Report{
		Msg:      fmt.Sprintf("%s: %s", s.Command[0], execText(err)),
		BwrapMsg: fmt.Sprintf("execvp %s: %s", s.Command[0], errnoText(err)),
		Exit:     ExitCannotExec,
	}
	if errors.Is(err, unix.ENOENT) {
		rep.Exit = ExitNotFound
		rep.Hint = notFoundHint(s.Command[0], envValue(env, "PATH"))
	}
	WriteReport(report, rep)
	return rep.Exit
}

func execText(err error) string {
	if errors.Is(err, unix.ENOENT) {
		return "command not found"
	}
	return errnoText(err)
}

func notFoundHint(cmd, path string) string {
	if strings.Contains(cmd, "/") {
		return "bind the directory that holds it, e.g. --ro-bind " + filepath.Dir(cmd)
	}
	return "is its directory bound into the sandbox? PATH is " + path + "; e.g. --ro-bind /usr and, on merged-/usr hosts, the /bin symlinks (added by default when /usr is bound)"
}

// chooseCwd changes to --chdir, else (as bubblewrap) to the caller's working
// directory if it exists inside, else $HOME, else /.
func chooseCwd(s *spec.Spec, plan *Plan) (string, error) {
	if s.Chdir != "" {
		if err := unix.Chdir(s.Chdir); err != nil {
			return "", &SetupError{Msg: "--chdir " + s.Chdir + ": " + err.Error(), BwrapMsg: "Can't chdir to " + s.Chdir + ": " + errnoText(err),
				Hint: "the directory must exist inside the sandbox: bind it or create it with --dir", Exit: ExitSetup}
		}
		return s.Chdir, nil
	}
	for _, d := range []string{plan.Cwd, plan.Home} {
		if d != "" && unix.Chdir(d) == nil {
			return d, nil
		}
	}
	unix.Chdir("/")
	return "/", nil
}

// lookPath finds cmd as execvp(3) does: a name with a slash is used as is;
// otherwise each PATH entry is tried (default /bin:/usr/bin), and EACCES is
// remembered if nothing executable is found.
func lookPath(cmd, path string) (string, error) {
	if strings.Contains(cmd, "/") {
		return cmd, nil
	}
	if cmd == "" {
		return "", unix.ENOENT
	}
	if path == "" {
		path = "/bin:/usr/bin"
	}
	var denied error
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + cmd
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil || st.Mode&unix.S_IFMT == unix.S_IFDIR {
			continue
		}
		if err := unix.Access(p, unix.X_OK); err != nil {
			denied = err
			continue
		}
		return p, nil
	}
	if denied != nil {
		return "", denied
	}
	return "", unix.ENOENT
}
