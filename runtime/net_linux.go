package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"sandbox/net/policy"
	"sandbox/net/vnet"
	"sandbox/spec"
)

// userNet is the parent's half of --net user: the checked options, the
// socket init sends the TAP fd over, and the process that serves the
// network: the built-in stack's helper (see vnet.Request) or slirp4netns or
// pasta.
type userNet struct {
	s          *spec.Spec
	helper     string   // the embedded network helper executable
	log        *os.File // --net-log, for the helper
	sock       *os.File // parent's end, for the helper
	child      *os.File // init's end, passed in ExtraFiles
	helperCmd  *exec.Cmd
	helperUp   chan struct{} // closed when launch is done, helperErr then set
	helperErr  error
	reply      *os.File // the helper's answer
	backendCmd *exec.Cmd
	pastaPID   int
	logPrefix  string
}

func newUserNet(s *spec.Spec, opt Options) (*userNet, error) {
	n := &userNet{s: s, helper: opt.NetHelper, logPrefix: opt.LogPrefix}
	if n.backend() != spec.BackendNetstack {
		if len(s.Net.Allow)+len(s.Net.Deny) > 0 || s.Net.Log != "" || len(s.Net.DNS) > 0 || s.Net.AllowHostLoopback {
			return nil, &SetupError{Msg: "--net-backend " + n.backend() + ": the egress policy options (--net-allow, --net-deny, --net-log, --net-dns, --net-allow-host-loopback) need the built-in stack",
				Hint: "drop --net-backend or those options", Exit: ExitSetup}
		}
		if len(s.Net.Publish) > 0 {
			return nil, &SetupError{Msg: "--net-backend " + n.backend() + ": --publish needs the built-in stack for now", Hint: "drop --net-backend", Exit: ExitSetup}
		}
		if _, err := exec.LookPath(n.backend()); err != nil {
			return nil, &SetupError{Msg: "--net-backend " + n.backend() + ": " + n.backend() + " is not installed",
				Hint: "install it (Debian: apt install " + map[string]string{spec.BackendSlirp4netns: "slirp4netns", spec.BackendPasta: "passt"}[n.backend()] + ") or use the built-in netstack", Exit: ExitSetup}
		}
	} else {
		if len(n.helper) == 0 {
			return nil, &SetupError{Msg: "--net user: this sandbox binary was built without its network stack",
				Hint: "build it with go generate ./cmd/sandbox before go build (see README), or use --net-backend pasta or slirp4netns", Exit: ExitSetup}
		}
		if err := n.checkPolicy(); err != nil {
			return nil, err
		}
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		n.close()
		return nil, fmt.Errorf("--net user: socketpair: %w", err)
	}
	n.sock, n.child = os.NewFile(uintptr(fds[0]), "net"), os.NewFile(uintptr(fds[1]), "net-child")
	return n, nil
}

func (n *userNet) backend() string {
	if n.s.Net.Backend == "" {
		return spec.BackendNetstack
	}
	return n.s.Net.Backend
}

// checkPolicy refuses bad --net-allow, --net-deny and --net-dns values
// before the sandbox starts (the helper builds the policy again, with the
// host's addresses and the log) and opens the --net-log file here, where
// its path means what the user meant.
func (n *userNet) checkPolicy() error {
	s := n.s
	l := vnet.DefaultLayout()
	if _, err := policy.New(policy.Options{
		Allow: s.Net.Allow, Deny: s.Net.Deny, AllowHostLoopback: s.Net.AllowHostLoopback,
		GatewayIP: l.GatewayIP, DNSIP: l.DNSIP, GatewayIP6: l.GatewayIP6, DNSIP6: l.DNSIP6,
	}); err != nil {
		return &SetupError{Msg: err.Error(), Hint: "see README: Networking", Exit: ExitSetup}
	}
	for _, d := range s.Net.DNS {
		if _, err := vnet.ParseDNSServer(d); err != nil {
			return &SetupError{Msg: "--net-dns " + d + ": " + err.Error(), Hint: "give an IP address, optionally with :port", Exit: ExitSetup}
		}
	}
	if s.Net.Log != "" {
		f, err := os.OpenFile(s.Net.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_CLOEXEC, 0o600)
		if err != nil {
			return &SetupError{Msg: "--net-log " + s.Net.Log + ": " + unwrapPathErr(err).Error(), Exit: ExitSetup}
		}
		n.log = f
	}
	return nil
}

// startExternal runs slirp4netns or pasta for the child's namespaces and
// waits until the TAP device is up; it happens after the id maps exist
// (the backend joins the user namespace) and before the plan is sent.
func (n *userNet) startExternal(pid int) error {
	proc := "/proc/" + strconv.Itoa(pid) + "/ns/"
	switch n.backend() {
	case spec.BackendSlirp4netns:
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		defer r.Close()
		// slirp4netns keeps a host socket per recent connection; Go gives
		// children the caller's soft fd limit (often 1024), which it runs
		// out of after about a thousand connections. Raise it to the hard
		// limit (an explicit setrlimit is inherited by the children).
		var lim syscall.Rlimit
		if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
			lim.Cur = lim.Max
			syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		}
		cmd := exec.Command("slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback", "--ready-fd=3",
			"--userns-path="+proc+"user", "--netns-type=path", proc+"net", "tap0")
		cmd.ExtraFiles = []*os.File{w}
		var errb strings.Builder
		cmd.Stderr = &errb
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			w.Close()
			return err
		}
		w.Close()
		n.backendCmd = cmd
		ready := make(chan error, 1)
		go func() {
			b := make([]byte, 1)
			_, err := r.Read(b)
			ready <- err
		}()
		select {
		case err := <-ready:
			if err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				return fmt.Errorf("slirp4netns: %s", strings.TrimSpace(errb.String()))
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			cmd.Wait()
			return fmt.Errorf("slirp4netns not ready after 10s: %s", strings.TrimSpace(errb.String()))
		}
		return nil
	case spec.BackendPasta:
		// pasta forks into the background once the namespace is set up:
		// the foreground process exiting is the readiness signal.
		dir, err := os.MkdirTemp("", "sandbox-pasta-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		pidFile := dir + "/pid"
		cmd := exec.Command("pasta", "--quiet", "--config-net", "--mtu", "65520", "--no-map-gw",
			"-t", "none", "-u", "none", "-T", "none", "-U", "none", "--pid", pidFile,
			"--userns", proc+"user", "--netns", proc+"net")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("pasta: %s", strings.TrimSpace(string(out)))
		}
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return fmt.Errorf("pasta wrote no pid file: %w", err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return fmt.Errorf("pasta pid file: %w", err)
		}
		n.pastaPID = pid
		return nil
	}
	return fmt.Errorf("backend %s is not supported", n.backend())
}

// launch starts the helper in the background; launched waits for it.
func (n *userNet) launch() {
	n.helperUp = make(chan struct{})
	go func() {
		defer close(n.helperUp)
		n.helperErr = n.startHelper()
	}()
}

func (n *userNet) launched() error {
	<-n.helperUp
	return n.helperErr
}

// startHelper starts the network helper from a sealed memfd holding the
// embedded executable, and sends it its request. It runs (in the
// background, see launch) before init is cloned: the helper's Go runtime
// starts while init's does and while the parent maps the ids.
func (n *userNet) startHelper() error {
	exe, err := memfdExecutable("sandbox-net", n.helper)
	if err != nil {
		return fmt.Errorf("start the network helper: %w", err)
	}
	defer exe.Close()
	req := vnet.Request{Fingerprint: vnet.RequestFingerprint(), Parent: os.Getpid(), Net: n.s.Net, Log: n.log != nil, LogPrefix: n.logPrefix}
	b, err := spec.MarshalWire(&req)
	if err != nil {
		return err
	}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer reqR.Close()
	replyR, replyW, err := os.Pipe()
	if err != nil {
		reqW.Close()
		return err
	}
	defer replyW.Close()
	// The memfd goes to the child as one of its descriptors, at a number
	// of our choosing, and the path names it there. Its number here would
	// not do: Go's fork moves descriptors onto free numbers above the
	// highest one it is given, and its status pipe can land on exactly
	// that number (exec then found a pipe: EACCES, in 1 start of 50).
	extra := make([]*os.File, vnet.HelperExeFD-2)
	extra[vnet.HelperSockFD-3], extra[vnet.HelperExeFD-3] = n.sock, exe
	if n.log != nil {
		extra[vnet.HelperLogFD-3] = n.log // else closed in the child
	}
	// A process group of its own: a terminal's Ctrl-C or Ctrl-Z is for the
	// program, not for the network under it.
	cmd := &exec.Cmd{
		Path: "/proc/self/fd/" + strconv.Itoa(vnet.HelperExeFD),
		Args: []string{"sandbox-net"},
		// One P (for good: see cmd/sandbox-net) and no collection until
		// the stack runs: it starts beside init on a busy machine.
		Env:         []string{"GOMAXPROCS=1", "GOGC=off"},
		Stdin:       reqR,
		Stdout:      replyW,
		Stderr:      os.Stderr,
		ExtraFiles:  extra,
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true},
	}
	if err := cmd.Start(); err != nil {
		reqW.Close()
		replyR.Close()
		return fmt.Errorf("start the network helper: %w", err)
	}
	n.helperCmd, n.reply = cmd, replyR
	// The helper holds the socket and the log now. Were it to die, init
	// must see the socket's end rather than wait for a go-ahead.
	n.sock.Close()
	n.sock = nil
	if n.log != nil {
		n.log.Close()
		n.log = nil
	}
	// A pipe holds the few hundred bytes of a request without a reader.
	_, err = reqW.Write(b)
	reqW.Close()
	return err
}

// memfdExecutable returns a sealed memfd holding exe. Since Linux 6.3 a
// memfd is executable only when made with MFD_EXEC (and vm.memfd_noexec=2
// refuses even that); older kernels refuse the flag and make every memfd
// executable.
func memfdExecutable(name string, exe string) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		if errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("memfd_create: %w (vm.memfd_noexec=2 forbids executable memfds; set it to 0 or 1, or use --net-backend pasta or slirp4netns)", err)
		}
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := fillMemfd(fd, exe); err != nil {
		f.Close()
		return nil, fmt.Errorf("write memfd: %w", err)
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal memfd: %w", err)
	}
	return f, nil
}

// fillMemfd writes exe, which is in this executable's read-only data, to
// the memfd: copied in the kernel from our own file's page cache when it can
// be found there (1.7 ms for the 6 MB helper, measured), else written from
// memory, which maps every page of it into this process first (5.5 ms).
// inKernel says which.
func fillMemfd(fd int, exe string) (inKernel bool, err error) {
	if self, err := os.Open("/proc/self/exe"); err == nil {
		defer self.Close()
		off, ok := exeFileOffset(self, uint64(uintptr(unsafeStringAddr(exe))), len(exe))
		if ok && sameBytes(self, off, exe) {
			for rem := len(exe); rem > 0; {
				w, err := unix.Sendfile(fd, int(self.Fd()), &off, rem)
				if err != nil {
					return true, err
				}
				if w == 0 {
					return true, io.ErrUnexpectedEOF
				}
				rem -= w
			}
			return true, nil
		}
	}
	for b := readOnlyBytes(exe); len(b) > 0; {
		w, err := unix.Write(fd, b)
		if err != nil {
			return false, err
		}
		b = b[w:]
	}
	return false, nil
}

// start waits for the helper's answer: the stack runs, the ports are
// published and init has its go-ahead; or an error.
func (n *userNet) start() error {
	b, err := io.ReadAll(n.reply)
	if err != nil {
		return fmt.Errorf("the network helper: %w", err)
	}
	var r vnet.Reply
	if len(b) == 0 || spec.UnmarshalWire(b, &r) != nil {
		return errors.New("the network helper ended without an answer")
	}
	switch {
	case r.Err == "":
		return nil
	case r.Usage:
		return &SetupError{Msg: r.Err, Exit: ExitSetup}
	}
	return errors.New(r.Err)
}

func (n *userNet) close() {
	if n.helperUp != nil {
		<-n.helperUp
	}
	if n.helperCmd != nil {
		// Nothing to flush: the stack's host sockets and the TAP go with
		// the process, the --net-log lines are written one by one. Killed,
		// not waited for: its address space takes milliseconds to tear
		// down, and it cannot run again; once this process exits, whoever
		// reaps our orphans reaps it.
		n.helperCmd.Process.Kill()
		n.reply.Close()
	}
	if n.backendCmd != nil {
		n.backendCmd.Process.Kill()
		n.backendCmd.Wait()
	}
	if n.pastaPID > 0 {
		// pasta quits by itself once the namespace is gone; this makes sure.
		syscall.Kill(n.pastaPID, syscall.SIGTERM)
	}
	if n.log != nil {
		n.log.Close()
	}
	if n.sock != nil {
		n.sock.Close()
	}
	if n.child != nil {
		n.child.Close()
	}
}

// sendTAP is init's half of --net user: in the new network namespace,
// before pivot_root (it needs the host's /dev/net/tun), create and
// configure the TAP device and hand its fd to the network helper.
func sendTAP(sockFD int) error {
	tap, err := vnet.CreateTAP("tap0", vnet.DefaultLayout())
	if err != nil {
		if errors.Is(err, vnet.ErrNoTUN) {
			return &SetupError{Msg: "--net user: " + err.Error(),
				Hint: "your user must be able to open /dev/net/tun (desktops make it 0666 with a udev rule; as root: chmod 0666 /dev/net/tun), or use --net none",
				Exit: ExitSetup}
		}
		return fmt.Errorf("--net user: %w", err)
	}
	defer tap.Close()
	if err := unix.Sendmsg(sockFD, []byte{0}, unix.UnixRights(int(tap.Fd())), nil, 0); err != nil {
		return fmt.Errorf("--net user: send the TAP device: %w", err)
	}
	return nil
}

// waitNetwork waits for the helper's go-ahead: the stack runs and the
// ports are published. The program must not start before.
func waitNetwork(sockFD int) error {
	b := make([]byte, 1)
	if n, err := unix.Read(sockFD, b); n != 1 || err != nil {
		return errors.New("--net user: the network stack did not start")
	}
	return nil
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
