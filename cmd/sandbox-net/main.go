// Command sandbox-net is the network helper of sandbox --net user: it runs
// the built-in user-mode stack (gVisor's netstack, package netstack) for one
// sandbox, with its egress policy, resolver and published ports.
//
// It is not run by hand. `go generate ./cmd/sandbox` builds it into
// cmd/sandbox/nethelper/, the sandbox binary embeds it, and the parent starts
// it from a sealed memfd for each sandbox with --net user, with the
// descriptors and messages described in package vnet (helper.go).
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"sandbox/net/dns"
	"sandbox/net/netstack"
	"sandbox/net/policy"
	"sandbox/net/vnet"
	"sandbox/secure"
	"sandbox/spec"
)

func main() {
	setName("sandbox-net") // not the memfd's number it was run as
	unix.Close(vnet.HelperExeFD)
	// SIGTERM ends a helper run by hand; the parent kills its helper.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	// Its own process group is in the background of the sandbox's
	// terminal: with tostop set, a --verbose line would stop it.
	signal.Ignore(syscall.SIGTTOU)
	req, err := readRequest(os.Stdin)
	if err == nil && os.Getppid() != req.Parent {
		os.Exit(1) // the sandbox is gone already
	}
	// The default filter is compiled at build time; only an architecture
	// without one compiles it, while the stack waits for the TAP.
	filter := make(chan compiled, 1)
	if prog := secure.DefaultFilter(); prog != nil {
		filter <- compiled{prog, nil}
	} else {
		go func() {
			pol, err := secure.DefaultPolicy(nil)
			var prog []bpf.RawInstruction
			if err == nil {
				prog, err = pol.Compile()
			}
			filter <- compiled{prog, err}
		}()
	}
	var st *netstack.Stack
	if err == nil {
		st, err = serve(req)
	}
	if err == nil {
		// Confined before the program may run, then the go-ahead.
		confine(req, <-filter)
		if _, werr := unix.Write(vnet.HelperSockFD, []byte{1}); werr != nil {
			st.Close()
			st, err = nil, fmt.Errorf("tell the sandbox the network is up: %w", werr)
		}
	}
	if err != nil {
		var ue usageError
		reply(vnet.Reply{Err: err.Error(), Usage: errors.As(err, &ue)})
	} else {
		reply(vnet.Reply{})
	}
	// The parent starts it with GOGC=off, to start lightly beside init;
	// serving wants a collector. It keeps GOMAXPROCS=1, like pasta and
	// slirp4netns keep one thread: with a second P the runtime wakes an
	// idle thread to look for work whenever a goroutine becomes ready, and
	// a forwarded connection cost 1.2 more voluntary context switches and
	// 15% to 60% more CPU (241-333 against 175-222 µs in `benchnet
	// connrate`), without a faster transfer.
	debug.SetGCPercent(100)
	// Failed or not, live on until killed: exiting would close the socket
	// init waits on, and init would report the stack's end before the
	// parent has read why (and killed init).
	<-sigs
	if st != nil {
		st.Close()
	}
}

// readRequest reads the parent's request and refuses one from a sandbox
// binary built from other sources: the wire form has no field names.
func readRequest(r io.Reader) (*vnet.Request, error) {
	var req vnet.Request
	b, err := io.ReadAll(r)
	if err == nil {
		err = spec.UnmarshalWire(b, &req)
	}
	if err != nil {
		return nil, fmt.Errorf("the network helper could not read its request: %w", err)
	}
	if req.Fingerprint != vnet.RequestFingerprint() {
		return nil, errors.New("the embedded network helper was built from other sources than this sandbox binary; rebuild with go generate ./cmd/sandbox, then go build")
	}
	return &req, nil
}

func setName(name string) {
	if p, err := unix.BytePtrFromString(name); err == nil {
		unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(p)), 0, 0, 0)
	}
}

// usageError is an error in what the user asked for.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func reply(r vnet.Reply) {
	if b, err := spec.MarshalWire(&r); err == nil {
		os.Stdout.Write(b)
	}
	os.Stdout.Close()
}

// serve builds the policy and the resolver, takes the TAP device from init
// and starts the stack with the published ports.
func serve(req *vnet.Request) (*netstack.Stack, error) {
	n := &req.Net
	var logf func(string, ...any)
	if req.LogPrefix != "" {
		logf = func(format string, a ...any) { fmt.Fprintf(os.Stderr, req.LogPrefix+format+"\n", a...) }
	}
	cfg := netstack.DefaultConfig()
	opts := policy.Options{
		Allow: n.Allow, Deny: n.Deny, AllowHostLoopback: n.AllowHostLoopback,
		GatewayIP: cfg.GatewayIP, DNSIP: cfg.DNSIP, GatewayIP6: cfg.GatewayIP6, DNSIP6: cfg.DNSIP6,
		HostAddrs: hostAddrs(), Now: time.Now,
	}
	if req.Log {
		opts.Log = os.NewFile(vnet.HelperLogFD, "net-log")
	}
	pol, err := policy.New(opts)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	var ups []netip.AddrPort
	for _, d := range n.DNS {
		ap, err := vnet.ParseDNSServer(d)
		if err != nil {
			return nil, usageError{"--net-dns " + d + ": " + err.Error()}
		}
		ups = append(ups, ap)
	}
	if len(ups) == 0 {
		if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
			ups, _ = dns.Upstreams(string(b))
		}
	}
	res := dns.New(pol, ups, logf)
	cfg.Decide, cfg.DNS, cfg.HostLoopback, cfg.Logf = pol.Decide, res.Handle, n.AllowHostLoopback, logf

	tap, err := receiveTAP(vnet.HelperSockFD)
	if err != nil {
		return nil, err
	}
	st, err := netstack.New(tap, cfg)
	if err != nil {
		return nil, fmt.Errorf("start the network stack: %w", err)
	}
	// Upstream queries on the stack's own sockets, not Go's net (see
	// netstack.hostPoller); no query can come before the go-ahead anyway.
	res.SetDialUDP(func(up netip.AddrPort) (dns.UDPConn, error) {
		c, err := st.DialUDP(up)
		if err != nil {
			return nil, err
		}
		return c, nil
	})
	for _, p := range n.Publish {
		if err := st.Publish(p.Proto, p.Host, p.SandboxPort); err != nil {
			st.Close()
			return nil, usageError{fmt.Sprintf("--publish %s:%d/%s: %v", p.Host, p.SandboxPort, p.Proto, err)}
		}
	}
	return st, nil
}

// compiled is the helper's seccomp filter, or why there is none.
type compiled struct {
	prog []bpf.RawInstruction
	err  error
}

// confine locks the helper down once the stack runs: it handles what the
// sandbox sends, and has opened all it needs (the TAP, the log, the published
// ports' sockets; it read resolv.conf). On every thread: no_new_privs, no
// filesystem access (Landlock) and the sandbox's own default seccomp policy
// (no ptrace, mount, bpf, keyrings, io_uring, nested user namespaces...).
// Best effort, like Landlock for the sandbox itself: --verbose says what it
// got.
func confine(req *vnet.Request, filter compiled) {
	var lost []string
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		lost = append(lost, "no_new_privs: "+err.Error())
	}
	abi, err := secure.DenyFilesystem()
	switch {
	case err != nil:
		lost = append(lost, "landlock: "+err.Error())
	case abi == 0:
		lost = append(lost, "landlock: not on this kernel")
	}
	if err := filter.err; err != nil {
		lost = append(lost, "seccomp: "+err.Error())
	} else if err := secure.LoadFilterAllThreads(filter.prog); err != nil {
		lost = append(lost, "seccomp: "+err.Error())
	}
	if req.LogPrefix == "" {
		return
	}
	if len(lost) > 0 {
		fmt.Fprintf(os.Stderr, "%snetwork helper: not fully confined: %s\n", req.LogPrefix, strings.Join(lost, "; "))
		return
	}
	fmt.Fprintf(os.Stderr, "%snetwork helper: no filesystem access (landlock ABI %d), default seccomp policy\n", req.LogPrefix, abi)
}

// receiveTAP takes the TAP device init sends over the socket.
func receiveTAP(sock int) (*os.File, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, 0)
	if err != nil {
		return nil, fmt.Errorf("receive the TAP device: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) == 0 {
		return nil, errors.New("receive the TAP device: the sandbox sent none")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, errors.New("receive the TAP device: bad message")
	}
	return os.NewFile(uintptr(fds[0]), "tap"), nil
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
