package runtime

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"sandbox/net/dns"
	"sandbox/net/netstack"
	"sandbox/net/policy"
	"sandbox/spec"
)

// userNet is the parent's half of --net user: the policy and resolver
// (built before the sandbox starts, so a bad rule fails early), the socket
// init sends the TAP fd over, and the running stack or backend process.
type userNet struct {
	s          *spec.Spec
	cfg        netstack.Config
	pol        *policy.Policy
	res        *dns.Resolver
	log        *os.File
	sock       *os.File // parent's end
	child      *os.File // init's end, passed in ExtraFiles
	stack      *netstack.Stack
	backendCmd *exec.Cmd
	pastaPID   int
	logf       func(string, ...any)
}

func newUserNet(s *spec.Spec, logf func(string, ...any)) (*userNet, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	n := &userNet{s: s, cfg: netstack.DefaultConfig(), logf: logf}
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
		if err := n.buildPolicy(); err != nil {
			return nil, err
		}
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
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

func (n *userNet) buildPolicy() error {
	s := n.s
	var logw *os.File
	if s.Net.Log != "" {
		f, err := os.OpenFile(s.Net.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_CLOEXEC, 0o600)
		if err != nil {
			return &SetupError{Msg: "--net-log " + s.Net.Log + ": " + unwrapPathErr(err).Error(), Exit: ExitSetup}
		}
		n.log, logw = f, f
	}
	opts := policy.Options{
		Allow: s.Net.Allow, Deny: s.Net.Deny, AllowHostLoopback: s.Net.AllowHostLoopback,
		GatewayIP: n.cfg.GatewayIP, DNSIP: n.cfg.DNSIP, GatewayIP6: n.cfg.GatewayIP6, DNSIP6: n.cfg.DNSIP6,
		HostAddrs: hostAddrs(), Now: time.Now,
	}
	if logw != nil {
		opts.Log = logw
	}
	pol, err := policy.New(opts)
	if err != nil {
		return &SetupError{Msg: err.Error(), Hint: "see README: Networking", Exit: ExitSetup}
	}
	var ups []netip.AddrPort
	for _, d := range s.Net.DNS {
		ap, err := parseDNSAddr(d)
		if err != nil {
			return &SetupError{Msg: "--net-dns " + d + ": " + err.Error(), Hint: "give an IP address, optionally with :port", Exit: ExitSetup}
		}
		ups = append(ups, ap)
	}
	if len(ups) == 0 {
		if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
			ups, _ = dns.Upstreams(string(b))
		}
	}
	n.pol, n.res = pol, dns.New(pol, ups, n.logf)
	n.cfg.Decide = pol.Decide
	n.cfg.DNS = n.res.Handle
	n.cfg.HostLoopback = s.Net.AllowHostLoopback
	n.cfg.Logf = n.logf
	return nil
}

func parseDNSAddr(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	ip, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("not an IP address")
	}
	return netip.AddrPortFrom(ip, 53), nil
}

// hostAddrs are the host's own addresses, refused by default.
func hostAddrs() []netip.Addr {
	var out []netip.Addr
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr())
		}
	}
	return out
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

// start receives the TAP fd from init, starts the stack and the published
// ports, and tells init the network is ready (the program must not run
// before).
func (n *userNet) start() error {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(int(n.sock.Fd()), buf, oob, 0)
	if err != nil {
		return fmt.Errorf("receive the TAP device: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) == 0 {
		return errors.New("receive the TAP device: the sandbox sent none")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return errors.New("receive the TAP device: bad message")
	}
	tap := os.NewFile(uintptr(fds[0]), "tap")
	st, err := netstack.New(tap, n.cfg)
	if err != nil {
		return fmt.Errorf("start the network stack: %w", err)
	}
	n.stack = st
	for _, p := range n.s.Net.Publish {
		if err := st.Publish(p.Proto, p.Host, p.SandboxPort); err != nil {
			return &SetupError{Msg: fmt.Sprintf("--publish %s:%d/%s: %v", p.Host, p.SandboxPort, p.Proto, err), Exit: ExitSetup}
		}
	}
	_, err = n.sock.Write([]byte{1})
	return err
}

func (n *userNet) close() {
	if n.stack != nil {
		n.stack.Close()
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
	n.sock.Close()
	n.child.Close()
}

// setupUserNet is init's half: in the new network namespace, before
// pivot_root (it needs the host's /dev/net/tun), create and configure the
// TAP device, hand its fd to the parent and wait until the stack runs.
func setupUserNet(sockFD int) error {
	tap, err := netstack.CreateTAP("tap0", netstack.DefaultConfig())
	if err != nil {
		if errors.Is(err, netstack.ErrNoTUN) {
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
