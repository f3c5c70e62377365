package runtime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"sandbox/limits"
	"sandbox/runtime/sigpipe"
	"sandbox/runtime/startup"
	"sandbox/secure"
	"sandbox/spec"
	"sandbox/userns"
)

// Plan is what the parent sends into the sandbox with the spec: the values
// that need the host to compute.
type Plan struct {
	Spec *spec.Spec `json:"spec"`
	// Env is the program's environment (PWD is added inside).
	Env []string `json:"env"`
	// Cwd and Home choose the working directory when --chdir is not given.
	Cwd  string `json:"cwd"`
	Home string `json:"home"`
	// Keep is the capability set the program keeps; LastCap is the highest
	// capability the kernel knows (probed once, here).
	Keep    uint64 `json:"keep"`
	LastCap int    `json:"last_cap"`
	// PassFDs are the caller's descriptors the program inherits.
	PassFDs []int `json:"pass_fds"`
	// InitFDs are the caller's descriptors only the stages need.
	InitFDs []int `json:"init_fds"`
	// Console is the terminal bound at /dev/console by --dev.
	Console string `json:"console,omitempty"`
	// Landlock: apply Landlock rules (LandlockABI > 0 when it will work).
	Landlock    bool `json:"landlock"`
	LandlockABI int  `json:"landlock_abi"`
	// Seccomp is the default policy's filter (sandbox personality), nil for
	// none; UserFilters are the caller's, loaded after it in order.
	Seccomp     []bpf.RawInstruction   `json:"seccomp,omitempty"`
	UserFilters [][]bpf.RawInstruction `json:"user_filters,omitempty"`
	// SeccompBlocksUserns: the default policy refuses nested user
	// namespaces (no --allow userns).
	SeccompBlocksUserns bool `json:"seccomp_blocks_userns,omitempty"`
	// NetSock is init's end of the socket that carries the TAP device to
	// the parent (--net user with the built-in stack); NetBuiltin says
	// init must create it.
	NetSock    int  `json:"net_sock,omitempty"`
	NetBuiltin bool `json:"net_builtin,omitempty"`
	// UseInit: a pid-1 init runs above the program.
	UseInit bool `json:"use_init"`
	// PIDNS: a new pid namespace was created.
	PIDNS bool `json:"pidns"`
	// CgroupPayload is the host path of the program's cgroup leaf (the
	// exec stage is started in it), "" without cgroup limits.
	CgroupPayload string `json:"cgroup_payload,omitempty"`
	// LateCgroupNS: init was created without its cgroup namespace (it had
	// to be moved into the sandbox's cgroup first); the exec stage creates
	// the program's.
	LateCgroupNS bool `json:"late_cgroupns,omitempty"`
}

// compileSeccomp builds the filters before anything starts, so that a bad
// --allow group or a malformed caller's program fails early: the default
// policy (sandbox personality only; bubblewrap has none) and the programs
// read from --seccomp/--add-seccomp-fd, which are closed once read.
func (plan *Plan) compileSeccomp(s *spec.Spec) error {
	if s.Personality == spec.Sandbox {
		if len(s.Allow) == 0 {
			plan.Seccomp = secure.DefaultFilter() // compiled at build time
		}
		if plan.Seccomp == nil {
			pol, err := secure.DefaultPolicy(s.Allow)
			if err != nil {
				return &SetupError{Msg: "--allow: " + err.Error(), BwrapMsg: err.Error(), Hint: "see sandbox --print-policy", Exit: ExitSetup}
			}
			if plan.Seccomp, err = pol.Compile(); err != nil {
				return setupErr("compile the seccomp policy: "+err.Error(), "", "")
			}
		}
		plan.SeccompBlocksUserns = true
		for _, g := range s.Allow {
			if g == secure.GroupUserns {
				plan.SeccompBlocksUserns = false
			}
		}
	}
	for _, fd := range s.SeccompFDs {
		b, err := readAllFD(fd)
		if err != nil {
			return setupErr(fmt.Sprintf("--seccomp fd %d: %v", fd, err), "Can't read seccomp data: "+err.Error(), "")
		}
		prog, err := secure.ParseRawFilter(b)
		if err != nil {
			return setupErr(fmt.Sprintf("--seccomp fd %d: %v", fd, err), err.Error(), "the fd must hold an array of struct sock_filter")
		}
		plan.UserFilters = append(plan.UserFilters, prog)
	}
	return nil
}

// SetupError is a failure of the sandbox itself, with both personalities'
// wording and the exit status for the sandbox personality.
type SetupError struct {
	Msg, BwrapMsg, Hint string
	Exit                int
}

func (e *SetupError) Error() string { return e.Msg }

func setupErr(msg, bwrapMsg, hint string) *SetupError {
	if bwrapMsg == "" {
		bwrapMsg = msg
	}
	return &SetupError{Msg: msg, BwrapMsg: bwrapMsg, Hint: hint, Exit: ExitSetup}
}

// Options are the parent's inputs besides the spec.
type Options struct {
	// Inherited are the caller's descriptors (3 and up, not close-on-exec)
	// found at start.
	Inherited []int
	// Logf prints --verbose lines; nil for none.
	Logf func(format string, a ...any)
	// Warnf prints what the user must know even without --verbose (a
	// protection that is not in force); nil for none.
	Warnf func(format string, a ...any)
	// Argv0 is the name the stages show in ps.
	Argv0 string
	// NetHelper is the network helper executable (./cmd/sandbox-net) that
	// runs the built-in stack for --net user; empty when this binary was
	// built without it.
	NetHelper string
	// LogPrefix starts the --verbose lines the network helper writes
	// itself; empty without --verbose.
	LogPrefix string
}

// Run creates the sandbox for s and waits for the program. It returns the
// program's exit status (128+N when killed by signal N), or a *SetupError.
//
// A child's parent-death signal fires when the thread that started it
// ends, not the process. The Go runtime ends a thread only when a goroutine
// locked to it returns; none in this process does, so those signals fire
// with the process. The calling goroutine need not be locked (and is not:
// with one P, a locked goroutine would turn every switch to another one
// into a switch of threads).
func Run(s *spec.Spec, opt Options) (int, error) {
	// The signals to forward, caught from now on, before the plan goes to
	// init (see run), through a pipe: os/signal would cost two threads and
	// a round trip to one of them per signal (see package sigpipe).
	sigs, err := sigpipe.Catch(forwardedSignals...)
	if err != nil {
		return 0, fmt.Errorf("catch the signals to forward: %w", err)
	}
	uid, gid := os.Getuid(), os.Getgid()
	plan := &Plan{Spec: s, Env: spec.ApplyEnv(os.Environ(), s.Env), Home: os.Getenv("HOME")}
	for _, op := range s.Env {
		if op.Name == "HOME" {
			plan.Home = envValue(plan.Env, "HOME")
		}
	}
	plan.Cwd, _ = os.Getwd()
	plan.PIDNS = s.Namespaces.PID
	plan.UseInit = (s.Namespaces.PID && !s.AsPID1) || s.SyncFD != spec.NoFD || hasLock(s)
	plan.LastCap = secure.LastCap()
	plan.Keep = uint64(capsToKeep(s, uid, plan.LastCap))
	if hasOp(s, spec.OpDev) {
		plan.Console = consoleTTY()
	}
	if s.Personality == spec.Sandbox && !s.NoLandlock {
		// Landlock is best effort: without it (ABI 0, or ABI 1 whose
		// rename rules break package managers) the namespaces still hold;
		// --verbose and --info-fd say which.
		plan.LandlockABI = secure.LandlockABI()
		plan.Landlock = plan.LandlockABI > 0
	}
	parentOnly := map[int]bool{s.InfoFD: true, s.JSONStatusFD: true, s.UsernsBlockFD: true}
	for _, fd := range s.SeccompFDs {
		parentOnly[fd] = true // read (and closed) by compileSeccomp
	}
	initOnly := map[int]bool{s.SyncFD: true}
	for _, op := range s.Ops {
		if op.FD != spec.NoFD {
			initOnly[op.FD] = true
		}
	}
	for _, fd := range opt.Inherited {
		switch {
		case parentOnly[fd]:
		case initOnly[fd]:
			plan.InitFDs = append(plan.InitFDs, fd)
		default:
			plan.PassFDs = append(plan.PassFDs, fd)
		}
	}
	for _, fd := range []int{s.SyncFD, s.BlockFD} {
		if fd != spec.NoFD && !contains(opt.Inherited, fd) {
			return 0, setupErr(fmt.Sprintf("fd %d is not open", fd), fmt.Sprintf("Invalid fd: %d", fd), "open it in the calling shell, e.g. 3<file")
		}
	}

	// --net user first: the built-in stack's helper starts in the
	// background now, so its runtime starts while this process prepares
	// the sandbox and init starts (init needs its go-ahead only once the
	// root is built).
	var un *userNet
	if s.Net.Mode == spec.NetUser {
		var err error
		if un, err = newUserNet(s, opt); err != nil {
			return 0, err
		}
		defer un.close()
		plan.NetBuiltin = un.backend() == spec.BackendNetstack
		if plan.NetBuiltin {
			un.launch()
		}
	}

	if err := plan.compileSeccomp(s); err != nil {
		return 0, err
	}
	if err := checkLimits(s); err != nil {
		return 0, err
	}
	idPlan, err := chooseIDs(s, uid, gid)
	if err != nil {
		return 0, err
	}
	p := &parent{s: s, plan: plan, opt: opt, ids: idPlan, net: un, sigs: sigs}
	defer p.cleanup()
	defer p.closeCgroup()
	if un != nil && !plan.NetBuiltin && opt.Warnf != nil {
		opt.Warnf("--net-backend %s: the egress policy is not enforced: private ranges, link-local and the host's own addresses are reachable (only the host's loopback is refused); use the built-in netstack for the policy", un.backend())
	}
	return p.run()
}

type parent struct {
	s    *spec.Spec
	plan *Plan
	opt  Options
	ids  *userns.Plan

	cmd                 *exec.Cmd
	fast                *fastInit // the fast init, when it runs instead of cmd
	clone               uintptr   // init's namespaces (cloneFlags), set by run
	ctlW, reportR, stat *os.File
	closers             []*os.File
	net                 *userNet
	netErr              chan error
	// sigs is the pipe of the caught signals to forward; sigCh is fed
	// from it once the sandbox runs (signals).
	sigs  *os.File
	sigCh chan os.Signal
	// cgroup is the sandbox's cgroup with the limits (nil without);
	// notEnforced lists the limits --limits best-effort had to drop.
	cgroup      *limits.Tree
	notEnforced []string
}

func (p *parent) cleanup() {
	for _, f := range p.closers {
		f.Close()
	}
}

func (p *parent) pipe() (r, w *os.File, err error) {
	r, w, err = os.Pipe()
	if err == nil {
		p.closers = append(p.closers, r, w)
	}
	return r, w, err
}

func (p *parent) run() (int, error) {
	p.clone = p.cloneFlags()
	if p.net != nil && p.plan.NetBuiltin {
		p.plan.NetSock = int(p.net.child.Fd()) // the fast init's: no exec
	}
	if fp := compileFast(p.plan, p.opt.Argv0, p.clone); fp != nil {
		code, err := p.runFast(fp)
		if err != errFastFallback {
			return code, err
		}
		if p.opt.Logf != nil {
			p.opt.Logf("fast init: it did not build this sandbox; the Go init starts it again")
		}
		if p.net != nil {
			// The first network is spent (its helper may hold the
			// first TAP): a new one for the Go init.
			p.net.close()
			un, err := newUserNet(p.s, p.opt)
			if err != nil {
				return 0, err
			}
			defer un.close()
			p.net, p.netErr = un, nil
			if p.plan.NetBuiltin {
				un.launch()
			}
		}
	}
	s := p.s
	ctlR, ctlW, err := p.pipe()
	if err != nil {
		return 0, err
	}
	reportR, reportW, err := p.pipe()
	if err != nil {
		return 0, err
	}
	statR, statW, err := p.pipe()
	if err != nil {
		return 0, err
	}
	p.ctlW, p.reportR, p.stat = ctlW, reportR, statR

	// The caller's fds keep their numbers in the child: ExtraFiles[i] is fd
	// 3+i, nil closes it. Our pipes go above the highest one.
	var extra []*os.File
	for _, fd := range append(append([]int{}, p.plan.PassFDs...), p.plan.InitFDs...) {
		for len(extra) <= fd-3 {
			extra = append(extra, nil)
		}
		extra[fd-3] = os.NewFile(uintptr(fd), "fd"+strconv.Itoa(fd))
	}
	base := 3 + len(extra)
	extra = append(extra, ctlR, reportW, statW)
	if p.net != nil {
		p.plan.NetSock = base + 3
		extra = append(extra, p.net.child)
	}

	// Init's environment is GOMAXPROCS=1: its work is sequential, and one P
	// spares the runtime threads and wake-ups (2 ms of start-up, measured
	// interleaved against GOMAXPROCS=2). The program gets the plan's
	// environment.
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{p.opt.Argv0, StageInit, strconv.Itoa(base), strconv.Itoa(base + 1), strconv.Itoa(base + 2)},
		Env:        []string{"GOMAXPROCS=1"},
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		ExtraFiles: extra,
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: p.clone,
		},
	}
	if s.DieWithParent {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if s.Namespaces.User {
		// The init stage needs every capability of its user namespace across
		// the exec of /proc/self/exe, which happens before the id maps exist
		// (its uid is then unmapped, so the exec would otherwise clear them).
		for c := 0; c <= p.plan.LastCap; c++ {
			cmd.SysProcAttr.AmbientCaps = append(cmd.SysProcAttr.AmbientCaps, uintptr(c))
		}
	}
	if err := cmd.Start(); err != nil {
		return 0, p.startError(err)
	}
	p.cmd = cmd
	ctlR.Close()
	reportW.Close()
	statW.Close()
	// The caller's fds now live in the sandbox; holding them here would keep
	// a --sync-fd open after the sandbox ends, say.
	for _, f := range extra[:base-3] {
		if f != nil {
			f.Close()
		}
	}
	pid := cmd.Process.Pid
	if s.Limits.NeedsCgroup() {
		// Before the maps and the plan: init waits for the plan, so nothing
		// of the sandbox runs outside the cgroup.
		if err := p.enterCgroup(pid); err != nil {
			return p.abort(err)
		}
	}
	p.logStart()

	if err := p.writeInfo(p.readInfo(pid)); err != nil {
		return p.abort(err)
	}
	if s.UsernsBlockFD != spec.NoFD {
		// The caller sets the maps up itself (bubblewrap writes none then).
		waitFD(s.UsernsBlockFD)
	} else if s.Namespaces.User {
		if err := p.writeIDs(pid); err != nil {
			return p.abort(err)
		}
	}
	if err := p.netReady(pid); err != nil {
		return p.abort(err)
	}
	b, err := (&wirePlan{p.plan}).encode()
	if err != nil {
		return p.abort(err)
	}
	// The signals were caught at Run's start, before the plan goes out: a
	// SIGTERM could otherwise end this process and leave the sandbox
	// running without it.
	if err := writeFrame(ctlW, b); err != nil {
		return p.abort(fmt.Errorf("send spec to the sandbox: %w", err))
	}
	p.watchNet(func() { p.cmd.Process.Kill() })
	return p.supervise(pid)
}

// writeIDs writes init's id maps (the plan's), as either init needs them.
func (p *parent) writeIDs(pid int) error {
	if err := userns.Write(pid, *p.ids); err != nil {
		return setupErr("write id maps: "+err.Error(), "setting up uid map: "+err.Error(), mapHint(err))
	}
	return nil
}

// netReady does the network's part once the maps are written and before
// init goes on: the built-in stack's helper has its request; slirp4netns or
// pasta joins the sandbox's namespaces and is ready.
func (p *parent) netReady(pid int) error {
	if p.net == nil {
		return nil
	}
	p.net.child.Close()
	if p.plan.NetBuiltin {
		if err := p.net.launched(); err != nil {
			return setupErr("--net user: "+err.Error(), "", "")
		}
		return nil
	}
	if err := p.net.startExternal(pid); err != nil {
		return &SetupError{Msg: "--net-backend " + p.net.backend() + ": " + err.Error(), Exit: ExitSetup}
	}
	return nil
}

// watchNet waits, in the background, for the built-in stack's answer: init
// sends the TAP device during its setup, and the stack starts while the
// rest of the root is built. If the stack fails, kill ends init. The
// goroutine keeps its own network, channel and kill: after the fast init's
// fall-back, p's are the Go init's, which the first helper must not touch.
func (p *parent) watchNet(kill func()) {
	if p.net == nil || !p.plan.NetBuiltin {
		return
	}
	n, errc := p.net, make(chan error, 1)
	p.netErr = errc
	go func() {
		err := n.start()
		errc <- err // before the kill, so supervise finds it
		if err != nil {
			kill()
		}
	}()
}

// logStart says (--verbose) how ids are mapped and whether Landlock is on.
func (p *parent) logStart() {
	s := p.s
	if p.opt.Logf != nil && s.Namespaces.User {
		p.opt.Logf("id mapping: %s (uid %s, gid %s)%s", p.ids.Kind, mapText(p.ids.UIDs), mapText(p.ids.GIDs), whyText(p.ids.Why))
	}
	if p.opt.Logf != nil && s.Personality == spec.Sandbox {
		switch {
		case s.NoLandlock:
			p.opt.Logf("landlock: off (--no-landlock)")
		case p.plan.Landlock:
			p.opt.Logf("landlock: ABI %d", p.plan.LandlockABI)
		default:
			p.opt.Logf("landlock: not available on this kernel (ABI %d); the mount namespace alone limits the filesystem", p.plan.LandlockABI)
		}
	}
}

// abort kills the child after a failure in the parent, so nothing is left.
func (p *parent) abort(err error) (int, error) {
	p.killInit()
	if p.cmd != nil || p.fast != nil {
		p.waitInit()
	}
	return 0, err
}

// killInit kills init (through its pidfd for the fast init: no pid reuse).
func (p *parent) killInit() {
	switch {
	case p.fast != nil:
		p.fast.kill()
	case p.cmd != nil && p.cmd.Process != nil:
		p.cmd.Process.Kill()
	}
}

// waitInit waits for init and returns its status; it may be called again.
func (p *parent) waitInit() syscall.WaitStatus {
	if p.fast != nil {
		return p.fast.wait()
	}
	if p.cmd.ProcessState == nil {
		p.cmd.Wait()
	}
	return p.cmd.ProcessState.Sys().(syscall.WaitStatus)
}

func (p *parent) cloneFlags() uintptr {
	ns := p.s.Namespaces
	flags := uintptr(syscall.CLONE_NEWNS)
	if ns.User {
		flags |= syscall.CLONE_NEWUSER
	}
	if ns.PID {
		flags |= syscall.CLONE_NEWPID
	}
	if ns.Net {
		flags |= syscall.CLONE_NEWNET
	}
	if ns.IPC {
		flags |= syscall.CLONE_NEWIPC
	}
	if ns.UTS {
		flags |= syscall.CLONE_NEWUTS
	}
	if ns.Cgroup || (ns.CgroupTry && fileExists("/proc/self/ns/cgroup")) {
		if p.s.Limits.NeedsCgroup() {
			p.plan.LateCgroupNS = true // see enterLateCgroupNS
		} else {
			flags |= unix.CLONE_NEWCGROUP
		}
	}
	return flags
}

func (p *parent) startError(err error) error {
	if p.s.Namespaces.User {
		msg, hint := userns.ExplainCloneError(err)
		bw := "Creating new namespace failed: " + errnoText(err)
		if errors.Is(err, syscall.ENOSPC) {
			bw = "Creating new namespace failed: nesting depth or /proc/sys/user/max_*_namespaces exceeded (ENOSPC)"
		}
		if errors.Is(err, syscall.EPERM) {
			bw = "No permissions to create a new namespace, likely because the kernel does not allow non-privileged user namespaces. On e.g. debian this can be enabled with 'sysctl kernel.unprivileged_userns_clone=1'."
		}
		return setupErr(msg, bw, hint)
	}
	return setupErr("create the sandbox's namespaces: "+err.Error(), "Creating new namespace failed: "+errnoText(err), "")
}

// signals gives the caught signals, from one reader of the pipe for
// every supervise of this Run.
func (p *parent) signals() <-chan os.Signal {
	if p.sigCh == nil {
		p.sigCh = make(chan os.Signal, 8)
		go sigpipe.Forward(p.sigs, p.sigCh)
	}
	return p.sigCh
}

// supervise waits for the setup report, forwards signals and returns the
// program's status.
func (p *parent) supervise(pid int) (int, error) {
	sigs := p.signals()
	type reportResult struct {
		rep Report
		ok  bool
		err error
	}
	reportCh := make(chan reportResult, 1)
	go func() {
		startup.GrowStack()
		rep, ok, err := ReadReport(p.reportR)
		reportCh <- reportResult{rep, ok, err}
	}()
	exitCh := make(chan int, 1)
	go func() {
		startup.GrowStack()
		if p.plan.UseInit {
			// init writes the program's status when it exits (bubblewrap
			// returns then, even when other processes remain).
			var b [4]byte
			if n, _ := p.stat.Read(b[:]); n == 4 {
				exitCh <- int(b[0]) | int(b[1])<<8 | int(b[2])<<16 | int(b[3])<<24
				return
			}
		}
		exitCh <- ExitCode(p.waitInit())
	}()
	started := false
	start := func() error { started = true; return p.started() }
	tmo := p.startTimeout()
	for {
		select {
		case r := <-reportCh:
			reportCh = nil
			if r.ok {
				<-exitCh
				return 0, p.setupFailed(r.rep)
			}
			if err := start(); err != nil {
				return p.abort(err)
			}
		case code := <-exitCh:
			if reportCh != nil {
				// The child died before saying anything: read what it left.
				r := <-reportCh
				if r.ok {
					return 0, p.setupFailed(r.rep)
				}
				if err := start(); err != nil {
					return p.abort(err)
				}
			}
			if err := p.netFailure(); err != nil {
				return 0, err // the stack failed and stopped the sandbox
			}
			code, extra := p.finishLimits(code, tmo)
			if started && p.s.JSONStatusFD != spec.NoFD {
				writeFD(p.s.JSONStatusFD, StatusExitJSON(code, extra...))
			}
			return code, nil
		case sig := <-sigs:
			p.forward(pid, sig.(syscall.Signal))
		case <-tmo.term:
			p.timeoutTerm(pid, tmo)
		case <-tmo.kill:
			p.timeoutKill(tmo)
		}
	}
}

// netFailure is the user network's start error, if it failed.
func (p *parent) netFailure() error {
	if p.netErr == nil {
		return nil
	}
	select {
	case err := <-p.netErr:
		p.netErr <- err
		if err == nil {
			return nil
		}
		var se *SetupError
		if errors.As(err, &se) {
			return se
		}
		return setupErr("--net user: "+err.Error(), "", "")
	default:
		return nil
	}
}

// forward passes a signal the parent received to the program. Signals a
// terminal sends to its foreground process group already reached the
// program (it shares our group unless --new-session), so they are not sent
// twice.
func (p *parent) forward(pid int, sig syscall.Signal) {
	if ttySignals[sig] && !p.s.NewSession && foregroundOfTTY() {
		return
	}
	if p.plan.UseInit {
		p.ctlW.Write([]byte{byte(sig)})
		return
	}
	syscall.Kill(pid, sig)
}

// sandboxInfo is what --info-fd and the first --json-status-fd line say.
type sandboxInfo struct{ info, status string }

// readInfo reads what writeInfo writes, while init lives (its namespaces'
// inodes); nil when neither fd was given.
func (p *parent) readInfo(pid int) *sandboxInfo {
	s := p.s
	if s.InfoFD == spec.NoFD && s.JSONStatusFD == spec.NoFD {
		return nil
	}
	ns := p.namespaceInodes(pid)
	var extra []string
	if s.Personality == spec.Sandbox && s.Namespaces.User {
		extra = append(extra, fmt.Sprintf("%q: %q", "id-mapping", p.ids.Kind))
	}
	if s.Personality == spec.Sandbox {
		extra = append(extra, fmt.Sprintf("%q: %d", "landlock-abi", p.landlockABI()))
		if l := p.limitsJSON(); l != "" {
			extra = append(extra, l)
		}
	}
	return &sandboxInfo{info: InfoJSON(pid, ns, extra), status: StatusStartJSON(pid, ns, extra)}
}

// writeInfo writes si (from readInfo) to --info-fd, which it closes, and
// as the first --json-status-fd line.
func (p *parent) writeInfo(si *sandboxInfo) error {
	s := p.s
	if si == nil {
		return nil
	}
	if s.InfoFD != spec.NoFD {
		if err := writeFD(s.InfoFD, si.info); err != nil {
			return setupErr("write to --info-fd: "+err.Error(), "Write to info_fd: "+errnoText(err), "")
		}
		syscall.Close(s.InfoFD)
	}
	if s.JSONStatusFD != spec.NoFD {
		if err := writeFD(s.JSONStatusFD, si.status); err != nil {
			return setupErr("write to --json-status-fd: "+err.Error(), "Write to json_status_fd: "+errnoText(err), "")
		}
	}
	return nil
}

// landlockABI is the ABI the program runs under, 0 for none.
func (p *parent) landlockABI() int {
	if p.plan.Landlock {
		return p.plan.LandlockABI
	}
	return 0
}

func (p *parent) namespaceInodes(pid int) []NSInode {
	ns := p.s.Namespaces
	flags := p.clone
	want := []struct {
		name string
		on   bool
	}{
		{"cgroup", flags&unix.CLONE_NEWCGROUP != 0}, {"ipc", ns.IPC}, {"mnt", true},
		{"net", ns.Net}, {"pid", ns.PID}, {"uts", ns.UTS},
	}
	var out []NSInode
	for _, w := range want {
		if !w.on {
			continue
		}
		var st unix.Stat_t
		if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/%s", pid, w.name), &st); err == nil {
			out = append(out, NSInode{Name: w.name, Inode: st.Ino})
		}
	}
	return out
}
