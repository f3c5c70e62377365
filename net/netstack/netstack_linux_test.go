package netstack

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

	"sandbox/net/vnet"
)

// The privileged tests re-run the test binary as a "sandbox": a child in a
// new user and network namespace (uid 0 mapped to the host's root, so it can
// open /dev/net/tun whatever its mode, and holds CAP_NET_ADMIN only in its
// own user namespace, as the real init stage does). The child makes the TAP device, sends the fd back over a
// socketpair (SCM_RIGHTS) and then runs the client side of each check on
// request, answering in JSON lines on the same socket.

const childEnv = "NETSTACK_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "sandbox", "bare", "sandbox-noipv6":
		if err := runSandboxChild(os.Getenv(childEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "sandbox child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	case "lowport":
		addr := netip.MustParseAddrPort("127.0.0.1:80")
		_, err := net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(addr))
		if err != nil {
			err = publishError("tcp", addr, err)
		}
		fmt.Print(err)
		os.Exit(0)
	case "notun":
		// Hide the clone device as a host without it would.
		err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
		if err == nil {
			err = unix.Mount("tmpfs", "/dev/net", "tmpfs", 0, "")
		}
		if err == nil {
			_, err = vnet.CreateTAP("tap0", vnet.DefaultLayout())
		}
		json.NewEncoder(os.Stdout).Encode(map[string]any{
			"err": fmt.Sprint(err), "notun": errors.Is(err, vnet.ErrNoTUN),
		})
		os.Exit(0)
	}
}

// requireRoot skips unless the test runs as root; under CI=true it fails.
func requireRoot(t testing.TB) {
	t.Helper()
	reason := ""
	switch {
	case os.Geteuid() != 0:
		reason = "needs root: re-runs itself in a user+network namespace with uid 0 mapped to root, to open /dev/net/tun whatever its mode and to hide it in a mount namespace"
	default:
		if _, err := os.Stat("/dev/net/tun"); err != nil {
			reason = fmt.Sprintf("needs /dev/net/tun: %v", err)
		}
	}
	if reason == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s", reason)
	}
	t.Skip(reason)
}

// request and response are the parent <-> child protocol.
type request struct {
	Op   string
	Addr string
	N    int64
	Data string
}

type response struct {
	Err     string
	Refused bool // the error was ECONNREFUSED
	Out     string
	N       int64
	Seconds float64
	CPU     float64 // the child's user+system seconds for the request
}

type sandboxChild struct {
	cmd  *exec.Cmd
	enc  *json.Encoder
	dec  *json.Decoder
	conn net.Conn
	mu   sync.Mutex
}

func (c *sandboxChild) do(t testing.TB, req request) response {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enc.Encode(req); err != nil {
		t.Fatalf("send %s to child: %v", req.Op, err)
	}
	var resp response
	if err := c.dec.Decode(&resp); err != nil {
		t.Fatalf("read %s answer from child: %v", req.Op, err)
	}
	return resp
}

// startSandbox starts the child and returns it with the TAP fd it made; a
// bare child makes no TAP device (slirp4netns makes one for comparison).
func startSandbox(t testing.TB, bare bool) (*sandboxChild, *os.File) {
	mode := "sandbox"
	if bare {
		mode = "bare"
	}
	return startSandboxMode(t, mode)
}

// startSandboxMode starts a child of mode: "sandbox", "bare" or
// "sandbox-noipv6" (IPv6 off in its network namespace before the TAP is
// made, as on a host without IPv6).
func startSandboxMode(t testing.TB, mode string) (*sandboxChild, *os.File) {
	bare := mode == "bare"
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parentEnd := os.NewFile(uintptr(fds[0]), "parent")
	childEnd := os.NewFile(uintptr(fds[1]), "child")
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	cmd.ExtraFiles = []*os.File{childEnd}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sandbox child: %v", err)
	}
	childEnd.Close()
	t.Cleanup(func() {
		parentEnd.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	tap, err := receiveFD(parentEnd, !bare)
	if err != nil {
		t.Fatalf("receive tap fd: %v", err)
	}
	conn, err := net.FileConn(parentEnd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &sandboxChild{cmd: cmd, conn: conn, enc: json.NewEncoder(conn), dec: json.NewDecoder(bufio.NewReader(conn))}, tap
}

// receiveFD reads the child's first message: "tap" with the TAP fd, or
// "bare" without one (when !withFD), or an error text.
func receiveFD(sock *os.File, withFD bool) (*os.File, error) {
	buf := make([]byte, 256)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if !withFD && string(buf[:n]) == "bare" {
		return nil, nil
	}
	if string(buf[:n]) != "tap" {
		return nil, fmt.Errorf("child: %q", buf[:n])
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("no fd in message: %v", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("no fd in message: %v", err)
	}
	return os.NewFile(uintptr(fds[0]), "tap"), nil
}

// runSandboxChild is the child: make the TAP, send it, serve requests.
func runSandboxChild(mode string) error {
	cfg := DefaultConfig() // TestStack's addresses
	sock := os.NewFile(3, "sock")
	if mode == "sandbox-noipv6" {
		for _, f := range []string{"all", "default"} {
			if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+f+"/disable_ipv6", []byte("1"), 0); err != nil {
				unix.Sendmsg(int(sock.Fd()), []byte(err.Error()), nil, nil, 0)
				return err
			}
		}
	}
	if mode != "bare" {
		tap, err := vnet.CreateTAP("tap0", cfg.Layout)
		if err != nil {
			unix.Sendmsg(int(sock.Fd()), []byte(err.Error()), nil, nil, 0)
			return err
		}
		if err := unix.Sendmsg(int(sock.Fd()), []byte("tap"), unix.UnixRights(int(tap.Fd())), nil, 0); err != nil {
			return fmt.Errorf("send tap fd: %w", err)
		}
		tap.Close()
	} else if err := unix.Sendmsg(int(sock.Fd()), []byte("bare"), nil, nil, 0); err != nil {
		return err
	}
	conn, err := net.FileConn(sock)
	if err != nil {
		return err
	}
	enc, dec := json.NewEncoder(conn), json.NewDecoder(conn)
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			return nil // parent is done
		}
		start, cpu := time.Now(), cpuSeconds()
		resp := childOp(cfg, req)
		resp.CPU = cpuSeconds() - cpu
		if resp.Seconds == 0 {
			resp.Seconds = time.Since(start).Seconds()
		}
		if err := enc.Encode(resp); err != nil {
			return err
		}
	}
}

func errResponse(err error) response {
	return response{Err: err.Error(), Refused: errors.Is(err, syscall.ECONNREFUSED)}
}

// held keeps the child's "hold" connections open.
var held []net.Conn

// childOp runs one client-side check inside the sandbox.
func childOp(cfg Config, req request) response {
	switch req.Op {
	case "http_get":
		c := http.Client{Timeout: 10 * time.Second}
		r, err := c.Get(req.Addr)
		if err != nil {
			return errResponse(err)
		}
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return errResponse(err)
		}
		return response{Out: string(b)}
	case "hold":
		c, err := net.DialTimeout("tcp", req.Addr, 10*time.Second)
		if err != nil {
			return errResponse(err)
		}
		held = append(held, c)
		return response{}
	case "dial":
		c, err := net.DialTimeout("tcp", req.Addr, 10*time.Second)
		if err != nil {
			return errResponse(err)
		}
		c.Close()
		return response{}
	case "dns_udp", "dns_tcp", "dns6_udp", "dns6_tcp":
		// DNS over IPv4 or IPv6 transport (the answer is A records
		// either way: fakeDNS has no AAAA).
		proto := req.Op[strings.IndexByte(req.Op, '_')+1:]
		server := cfg.DNSIP
		if strings.HasPrefix(req.Op, "dns6") {
			server = cfg.DNSIP6
		}
		r := net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, proto, netip.AddrPortFrom(server, 53).String())
		}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ips, err := r.LookupNetIP(ctx, "ip4", req.Data)
		if err != nil {
			return errResponse(err)
		}
		return response{Out: fmt.Sprint(ips)}
	case "udp_echo":
		c, err := net.Dial("udp", req.Addr)
		if err != nil {
			return errResponse(err)
		}
		defer c.Close()
		return udpRoundTrip(c, req.Data)
	case "listen_tcp_echo", "listen_udp_echo":
		return listenEcho(req)
	case "send":
		return sendBulk(req.Addr, req.N)
	case "recv":
		return recvBulk(req.Addr)
	case "ping":
		return ping(req.Addr)
	case "addrs":
		return tapAddrs()
	case "connrate":
		return connRate(req.Addr, time.Duration(req.N), req.Data == "line")
	case "flood":
		// UDP datagrams to req.Addr without end, in the background.
		c, err := net.Dial("udp", req.Addr)
		if err != nil {
			return errResponse(err)
		}
		go func() {
			b := make([]byte, 64)
			for {
				if _, err := c.Write(b); err != nil {
					time.Sleep(time.Millisecond)
				}
			}
		}()
		return response{}
	}
	return response{Err: "unknown op " + req.Op}
}

func udpRoundTrip(c net.Conn, data string) response {
	buf := make([]byte, 2048)
	for try := 0; try < 3; try++ {
		if _, err := c.Write([]byte(data)); err != nil {
			return errResponse(err)
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := c.Read(buf)
		if err == nil {
			return response{Out: string(buf[:n])}
		}
		if !isTimeout(err) {
			return errResponse(err)
		}
	}
	return response{Err: "udp: no answer"}
}

// listenEcho starts an echo server inside the sandbox and returns once it
// listens.
func listenEcho(req request) response {
	if req.Op == "listen_udp_echo" {
		pc, err := net.ListenPacket("udp", req.Addr)
		if err != nil {
			return errResponse(err)
		}
		go func() {
			buf := make([]byte, 65536)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				pc.WriteTo(buf[:n], from)
			}
		}()
		return response{}
	}
	ln, err := net.Listen("tcp", req.Addr)
	if err != nil {
		return errResponse(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return response{}
}

func sendBulk(addr string, n int64) response {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return errResponse(err)
	}
	defer c.Close()
	start := time.Now()
	buf := make([]byte, 1<<20)
	for sent := int64(0); sent < n; {
		m, err := c.Write(buf[:min(int64(len(buf)), n-sent)])
		sent += int64(m)
		if err != nil {
			return errResponse(err)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	// The server answers with the count it got once it saw EOF.
	got, err := io.ReadAll(c)
	if err != nil {
		return errResponse(err)
	}
	return response{N: n, Out: string(got), Seconds: time.Since(start).Seconds()}
}

func recvBulk(addr string) response {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return errResponse(err)
	}
	defer c.Close()
	start := time.Now()
	n, err := io.CopyBuffer(io.Discard, c, make([]byte, 1<<20))
	if err != nil {
		return errResponse(err)
	}
	return response{N: n, Seconds: time.Since(start).Seconds()}
}

// connRate opens connections to addr (a server that answers one byte and
// closes) with 4 workers for d and counts the completed ones.
func connRate(addr string, d time.Duration, line bool) response {
	var (
		mu           sync.Mutex
		count        int64
		first        error
		dialT, readT time.Duration
		wg           sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for range 4 {
		wg.Go(func() {
			var b [1]byte
			for time.Now().Before(deadline) {
				t0 := time.Now()
				c, err := net.Dial("tcp", addr)
				t1 := time.Now()
				switch {
				case err == nil && line:
					if _, err = c.Write([]byte("hello\n")); err == nil {
						var got []byte
						if got, err = io.ReadAll(c); err == nil && string(got) != "ok\n" {
							err = fmt.Errorf("answer %q, want \"ok\\n\"", got)
						}
					}
					c.Close()
				case err == nil:
					_, err = io.ReadFull(c, b[:])
					c.Close()
				}
				t2 := time.Now()
				mu.Lock()
				dialT += t1.Sub(t0)
				readT += t2.Sub(t1)
				if err != nil && first == nil {
					first = err
				}
				if err == nil {
					count++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r := response{N: count, Seconds: time.Since(start).Seconds()}
	if count > 0 {
		r.Out = fmt.Sprintf("mean connect %v, read+close %v", dialT/time.Duration(count), readT/time.Duration(count))
	}
	if first != nil {
		r.Err = first.Error()
	}
	return r
}

// hostIPv6 is a global IPv6 address of the host that sandbox traffic can be
// sent to; the test skips without one.
func hostIPv6(t testing.TB) netip.Addr {
	t.Helper()
	def := DefaultConfig()
	return hostAddr(t, func(a netip.Addr) bool { return a.Is6() && !a.Is4In6() }, def.prefix6(),
		"host has no global IPv6 address to forward to")
}

// hostIPv4 is a non-loopback address of the host that sandbox traffic can be
// sent to.
func hostIPv4(t testing.TB) netip.Addr {
	t.Helper()
	def := DefaultConfig()
	return hostAddr(t, netip.Addr.Is4, def.prefix(), "host has no non-loopback IPv4 address to forward to")
}

// hostAddr is the first global unicast address of the host's interfaces of
// the family (fam) outside the sandbox's own subnet; the test skips with
// none.
func hostAddr(t testing.TB, fam func(netip.Addr) bool, own netip.Prefix, none string) netip.Addr {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err == nil && fam(p.Addr()) && p.Addr().IsGlobalUnicast() && !own.Contains(p.Addr()) {
			return p.Addr()
		}
	}
	t.Skip(none)
	return netip.Addr{}
}

// fakeDNS answers every A query with 192.0.2.77 and anything else with no
// records.
func fakeDNS(q []byte) ([]byte, error) {
	r := servfail(q)
	if r == nil {
		return nil, errors.New("bad query")
	}
	r[3] = 0x80 // RA, NOERROR
	if binary.BigEndian.Uint16(r[len(r)-4:]) != 1 {
		return r, nil
	}
	binary.BigEndian.PutUint16(r[6:], 1)
	return append(r, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 77), nil
}

// hostServers are the servers on the host the sandbox talks to.
type hostServers struct {
	http, loopHTTP, sink, source, oneByte, udpEcho netip.AddrPort
	// line reads a line, answers "ok\n" and closes first, as the server
	// of scripts/bench-net's connection-rate test does.
	line    netip.AddrPort
	refused netip.AddrPort // Decide refuses it
}

func startHostServers(t testing.TB, ip netip.Addr, bulk int64) hostServers {
	var hs hostServers
	listen := func(addr netip.Addr, serve func(net.Conn)) netip.AddrPort {
		ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { defer c.Close(); serve(c) }()
			}
		}()
		return netip.MustParseAddrPort(ln.Addr().String())
	}
	serveHTTP := func(addr netip.Addr) netip.AddrPort {
		ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello %s", r.Host)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		return netip.MustParseAddrPort(ln.Addr().String())
	}
	hs.http = serveHTTP(ip)
	hs.loopHTTP = serveHTTP(netip.AddrFrom4([4]byte{127, 0, 0, 1}))
	hs.sink = listen(ip, func(c net.Conn) {
		n, _ := io.CopyBuffer(io.Discard, c, make([]byte, 1<<20))
		fmt.Fprint(c, n)
	})
	hs.source = listen(ip, func(c net.Conn) {
		buf := make([]byte, 1<<20)
		for sent := int64(0); sent < bulk; sent += int64(len(buf)) {
			if _, err := c.Write(buf[:min(int64(len(buf)), bulk-sent)]); err != nil {
				return
			}
		}
	})
	hs.oneByte = listen(ip, func(c net.Conn) { c.Write([]byte{1}) })
	hs.line = listen(ip, func(c net.Conn) {
		if _, err := bufio.NewReaderSize(c, 256).ReadString('\n'); err == nil {
			c.Write([]byte("ok\n"))
		}
	})
	hs.refused = listen(ip, func(c net.Conn) { t.Errorf("refused destination was reached") })

	pc, err := net.ListenPacket("udp", netip.AddrPortFrom(ip, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(append([]byte("echo:"), buf[:n]...), from)
		}
	}()
	hs.udpEcho = netip.MustParseAddrPort(pc.LocalAddr().String())
	return hs
}

func freePort(t *testing.T, proto string) uint16 {
	t.Helper()
	var addr string
	if proto == "tcp" {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr().String()
		ln.Close()
	} else {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = pc.LocalAddr().String()
		pc.Close()
	}
	return netip.MustParseAddrPort(addr).Port()
}

func TestStack(t *testing.T) {
	requireRoot(t)
	hostIP := hostIPv4(t)
	const bulk = 200 << 20
	hs := startHostServers(t, hostIP, bulk)

	var decided sync.Map // netip.AddrPort -> proto
	cfg := DefaultConfig()
	cfg.HostLoopback = true
	cfg.DNS = fakeDNS
	cfg.Logf = t.Logf
	var refused sync.Map // netip.AddrPort -> true: Decide refuses it
	refused.Store(hs.refused, true)
	cfg.Decide = func(proto string, dst netip.AddrPort) error {
		decided.Store(dst, proto)
		if _, no := refused.Load(dst); no {
			return errors.New("denied by test policy")
		}
		return nil
	}
	child, tap := startSandbox(t, false)
	st, err := New(tap, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()

	t.Run("HTTPGet", func(t *testing.T) {
		r := child.do(t, request{Op: "http_get", Addr: "http://" + hs.http.String() + "/"})
		if r.Err != "" || r.Out != "hello "+hs.http.String() {
			t.Fatalf("GET: %+v", r)
		}
		if p, _ := decided.Load(hs.http); p != "tcp" {
			t.Errorf("Decide was not asked for tcp %v", hs.http)
		}
	})
	// A connection whose sandbox side closes last (the server closes
	// first) ends in TIME-WAIT, which the stack's clock ends at once in a
	// worker (see clock): none may stay.
	t.Run("TimeWaitEnds", func(t *testing.T) {
		r := child.do(t, request{Op: "connrate", Addr: hs.line.String(), N: int64(300 * time.Millisecond), Data: "line"})
		if r.Err != "" || r.N == 0 {
			t.Fatalf("connrate: %+v", r)
		}
		deadline := time.Now().Add(5 * time.Second)
		for n := timeWaitEndpoints(st); n > 0; n = timeWaitEndpoints(st) {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d connections still in TIME-WAIT", n, r.N)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	t.Run("DNS", func(t *testing.T) {
		for _, op := range []string{"dns_udp", "dns_tcp"} {
			r := child.do(t, request{Op: op, Data: "example.test"})
			if r.Err != "" || r.Out != "[192.0.2.77]" {
				t.Errorf("%s: %+v", op, r)
			}
		}
		if _, asked := decided.Load(netip.AddrPortFrom(cfg.DNSIP, 53)); asked {
			t.Errorf("Decide was asked about DNS; DNS is its own policy point")
		}
	})
	t.Run("Refused", func(t *testing.T) {
		r := child.do(t, request{Op: "dial", Addr: hs.refused.String()})
		if !r.Refused || r.Seconds > 2 {
			t.Fatalf("dial to a refused destination: want connection refused at once, got %+v", r)
		}
		// UDP: ICMP port unreachable, which a connected socket reads
		// as ECONNREFUSED.
		r = child.do(t, request{Op: "udp_echo", Addr: hs.refused.String(), Data: "x"})
		if !r.Refused || r.Seconds > 2 {
			t.Fatalf("udp to a refused destination: want connection refused at once, got %+v", r)
		}
		// Never forwarded, whatever Decide says: the sandbox's subnet.
		r = child.do(t, request{Op: "dial", Addr: "10.0.2.50:80"})
		if r.Err == "" {
			t.Fatalf("dial 10.0.2.50:80 inside the subnet succeeded")
		}
	})
	t.Run("Ping", func(t *testing.T) {
		// The stack answers for its own addresses only; echo to
		// anything else is not forwarded (and must not be faked).
		if r := child.do(t, request{Op: "ping", Addr: cfg.GatewayIP.String()}); r.Out != "reply" {
			t.Errorf("ping gateway: %+v", r)
		}
		if r := child.do(t, request{Op: "ping", Addr: hostIP.String()}); r.Out == "reply" {
			t.Errorf("ping %v through the stack got a reply", hostIP)
		}
	})
	t.Run("UDPEcho", func(t *testing.T) {
		r := child.do(t, request{Op: "udp_echo", Addr: hs.udpEcho.String(), Data: "ping"})
		if r.Err != "" || r.Out != "echo:ping" {
			t.Fatalf("udp echo: %+v", r)
		}
	})
	t.Run("HostLoopback", func(t *testing.T) {
		gw := netip.AddrPortFrom(cfg.GatewayIP, hs.loopHTTP.Port())
		r := child.do(t, request{Op: "http_get", Addr: "http://" + gw.String() + "/"})
		if r.Err != "" || r.Out != "hello "+gw.String() {
			t.Fatalf("GET via gateway: %+v", r)
		}
		if p, _ := decided.Load(gw); p != "tcp" {
			t.Errorf("Decide did not see %v", gw)
		}
	})
	t.Run("PublishTCP", func(t *testing.T) {
		if r := child.do(t, request{Op: "listen_tcp_echo", Addr: ":8080"}); r.Err != "" {
			t.Fatal(r.Err)
		}
		host := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), freePort(t, "tcp"))
		if err := st.Publish("tcp", host, 8080); err != nil {
			t.Fatal(err)
		}
		c, err := net.DialTimeout("tcp", host.String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprint(c, "published")
		c.(*net.TCPConn).CloseWrite()
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "published" {
			t.Fatalf("echo through published port: %q, %v", got, err)
		}
	})
	t.Run("PublishUDP", func(t *testing.T) {
		if r := child.do(t, request{Op: "listen_udp_echo", Addr: ":5353"}); r.Err != "" {
			t.Fatal(r.Err)
		}
		host := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), freePort(t, "udp"))
		if err := st.Publish("udp", host, 5353); err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("udp", host.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if r := udpRoundTrip(c, "published"); r.Out != "published" {
			t.Fatalf("udp echo through published port: %+v", r)
		}
	})
	t.Run("Throughput", func(t *testing.T) {
		cpu := cpuSeconds()
		up := child.do(t, request{Op: "send", Addr: hs.sink.String(), N: bulk})
		upCPU := cpuSeconds() - cpu
		if up.Err != "" || up.Out != fmt.Sprint(bulk) {
			t.Fatalf("upload: %+v", up)
		}
		cpu = cpuSeconds()
		down := child.do(t, request{Op: "recv", Addr: hs.source.String()})
		downCPU := cpuSeconds() - cpu
		if down.Err != "" || down.N != bulk {
			t.Fatalf("download: %+v", down)
		}
		t.Logf("200 MB up (sandbox->host) %.2f Gbit/s, down (host->sandbox) %.2f Gbit/s",
			float64(bulk)*8/up.Seconds/1e9, float64(bulk)*8/down.Seconds/1e9)
		t.Logf("CPU seconds (parent incl. host servers / sandbox client): up %.2f/%.2f in %.2fs, down %.2f/%.2f in %.2fs",
			upCPU, up.CPU, up.Seconds, downCPU, down.CPU, down.Seconds)
		cr := child.do(t, request{Op: "connrate", Addr: hs.oneByte.String(), N: int64(time.Second)})
		if cr.N == 0 {
			t.Fatalf("connection rate: %+v", cr)
		}
		t.Logf("connections: %.0f/s (4 workers; %s)%s", float64(cr.N)/cr.Seconds, cr.Out, errSuffix(cr.Err))
	})
	t.Run("IPv6", func(t *testing.T) {
		if r := child.do(t, request{Op: "addrs"}); r.Out != "10.0.2.100/24 fd73:6278::100/64" {
			t.Fatalf("sandbox addresses: %+v, want 10.0.2.100/24 and fd73:6278::100/64", r)
		}
		if r := child.do(t, request{Op: "ping", Addr: cfg.GatewayIP6.String()}); r.Out != "reply" {
			t.Errorf("ping %v: %+v", cfg.GatewayIP6, r)
		}
		for _, op := range []string{"dns6_udp", "dns6_tcp"} {
			if r := child.do(t, request{Op: op, Data: "example.test"}); r.Err != "" || r.Out != "[192.0.2.77]" {
				t.Errorf("%s: %+v", op, r)
			}
		}
		t.Run("HostLoopback", func(t *testing.T) {
			if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
				t.Skipf("no IPv6 loopback on the host: %v", err)
			} else {
				ln.Close()
			}
			lo := startHostServers(t, netip.IPv6Loopback(), 0)
			gw := netip.AddrPortFrom(cfg.GatewayIP6, lo.http.Port())
			r := child.do(t, request{Op: "http_get", Addr: "http://" + gw.String() + "/"})
			if r.Err != "" || r.Out != "hello "+gw.String() {
				t.Fatalf("GET via the IPv6 gateway: %+v", r)
			}
		})
		t.Run("Host", func(t *testing.T) {
			ip := hostIPv6(t)
			hs6 := startHostServers(t, ip, 0)
			refused.Store(hs6.refused, true)
			r := child.do(t, request{Op: "http_get", Addr: "http://" + hs6.http.String() + "/"})
			if r.Err != "" || r.Out != "hello "+hs6.http.String() {
				t.Errorf("GET %v: %+v", hs6.http, r)
			}
			if p, _ := decided.Load(hs6.http); p != "tcp" {
				t.Errorf("Decide was not asked for tcp %v", hs6.http)
			}
			if r := child.do(t, request{Op: "udp_echo", Addr: hs6.udpEcho.String(), Data: "ping6"}); r.Err != "" || r.Out != "echo:ping6" {
				t.Errorf("udp echo %v: %+v", hs6.udpEcho, r)
			}
			if r := child.do(t, request{Op: "dial", Addr: hs6.refused.String()}); !r.Refused {
				t.Errorf("dial to a refused destination %v: want connection refused, got %+v", hs6.refused, r)
			}
			if r := child.do(t, request{Op: "ping", Addr: ip.String()}); r.Out == "reply" {
				t.Errorf("ping %v through the stack got a reply", ip)
			}
		})
	})
	t.Run("Stats", func(t *testing.T) {
		got := st.Stats()
		t.Logf("%+v", got)
		if got.TCPConns == 0 || got.UDPFlows == 0 || got.Refused < 3 || got.Published < 2 ||
			got.BytesUp < bulk || got.BytesDown < bulk {
			t.Errorf("stats do not add up: %+v", got)
		}
	})
	t.Run("CloseWithOpenFlows", func(t *testing.T) {
		if r := child.do(t, request{Op: "hold", Addr: hs.oneByte.String()}); r.Err != "" {
			t.Fatal(r.Err)
		}
		if r := child.do(t, request{Op: "udp_echo", Addr: hs.udpEcho.String(), Data: "open"}); r.Err != "" {
			t.Fatal(r.Err)
		}
		closeWithin(t, st, "with a TCP connection and a UDP flow open")
		// Close waited for everything it started, idle workers too (a
		// worker past its wg.Done may take a moment to be gone).
		buf := make([]byte, 1<<20)
		for deadline := time.Now().Add(time.Second); ; time.Sleep(time.Millisecond) {
			stacks := string(buf[:runtime.Stack(buf, true)])
			if !strings.Contains(stacks, "netstack.(*workers).loop") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("a worker outlives Close:\n%s", stacks)
			}
		}
	})
}

// TestStackCloseWhileDelivering: Close returns while the TAP reader is
// delivering frames. (Close used to remove the NIC, under the stack's lock,
// before stopping the reader, which could be waiting for that lock to
// deliver an IPv6 frame: a hang about one sandbox exit in twenty, when the
// sandbox's kernel sent its neighbour discovery at the end.)
func TestStackCloseWhileDelivering(t *testing.T) {
	requireRoot(t)
	for i := 0; i < 10; i++ {
		child, tap := startSandbox(t, false)
		cfg := DefaultConfig()
		cfg.DNS = fakeDNS
		st, err := New(tap, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, dst := range []string{"[fd73:6278::3]:53", "[2001:db8::1]:9", "10.0.2.3:53"} {
			if r := child.do(t, request{Op: "flood", Addr: dst}); r.Err != "" {
				t.Fatal(r.Err)
			}
		}
		time.Sleep(20 * time.Millisecond)
		closeWithin(t, st, fmt.Sprintf("while frames arrive (round %d)", i))
	}
}

// closeWithin closes st and fails the test, with every goroutine's stack,
// if Close errs or has not returned within 5 s.
func closeWithin(t *testing.T, st *Stack, when string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- st.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close %s: %v", when, err)
		}
	case <-time.After(5 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("Close hangs %s:\n%s", when, buf[:runtime.Stack(buf, true)])
	}
}

// TestTAPPersists: the TAP device is persistent, so that closing the stack
// does not unregister it synchronously (it goes with the namespace).
func TestTAPPersists(t *testing.T) {
	requireRoot(t)
	_, tap := startSandbox(t, false)
	defer tap.Close()
	ifr, err := unix.NewIfreq("")
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlIfreq(int(tap.Fd()), unix.TUNGETIFF, ifr); err != nil {
		t.Fatal(err)
	}
	if flags := ifr.Uint16(); flags&unix.IFF_PERSIST == 0 {
		t.Errorf("TAP flags %#x: IFF_PERSIST is not set", flags)
	}
}

// TestStackNoIPv6: with IPv6 off in the sandbox's namespace (as on a host
// without it) the TAP gets its IPv4 address only, and IPv4 works.
func TestStackNoIPv6(t *testing.T) {
	requireRoot(t)
	hs := startHostServers(t, hostIPv4(t), 0)
	child, tap := startSandboxMode(t, "sandbox-noipv6")
	cfg := DefaultConfig()
	cfg.DNS = fakeDNS
	cfg.Logf = t.Logf
	st, err := New(tap, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if r := child.do(t, request{Op: "addrs"}); r.Out != "10.0.2.100/24" {
		t.Errorf("sandbox addresses: %+v, want 10.0.2.100/24 alone", r)
	}
	if r := child.do(t, request{Op: "http_get", Addr: "http://" + hs.http.String() + "/"}); r.Err != "" || r.Out != "hello "+hs.http.String() {
		t.Errorf("GET %v: %+v", hs.http, r)
	}
	if r := child.do(t, request{Op: "dns_udp", Data: "example.test"}); r.Err != "" || r.Out != "[192.0.2.77]" {
		t.Errorf("dns: %+v", r)
	}
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return ", first error: " + e
}

func TestCreateTAPWithoutTUN(t *testing.T) {
	requireRoot(t)
	// The child hides /dev/net/tun under a tmpfs in its own mount
	// namespace.
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=notun")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 65534, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 65534, Size: 1}},
		Credential:  &syscall.Credential{Uid: 0, Gid: 0}, // become the mapped uid
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	var got struct {
		Err   string
		NoTUN bool
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("child said %q: %v", out, err)
	}
	t.Logf("CreateTAP: %s", got.Err)
	if !got.NoTUN || !strings.Contains(got.Err, "open /dev/net/tun: no such file or directory") {
		t.Fatalf("CreateTAP without access to /dev/net/tun: %+v", got)
	}
}

// cpuSeconds is this process's user+system CPU time so far.
func cpuSeconds() float64 {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// ping sends one ICMP (or ICMPv6) echo request to addr from a raw socket
// and waits a second for the reply.
func ping(addr string) response {
	ip := netip.MustParseAddr(addr)
	network, proto, echo, reply := "ip4:icmp", 1, icmp.Type(ipv4.ICMPTypeEcho), icmp.Type(ipv4.ICMPTypeEchoReply)
	if ip.Is6() {
		network, proto, echo, reply = "ip6:ipv6-icmp", 58, ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	c, err := icmp.ListenPacket(network, "")
	if err != nil {
		return errResponse(err)
	}
	defer c.Close()
	msg := icmp.Message{Type: echo, Body: &icmp.Echo{ID: 7, Seq: 1, Data: []byte("sandbox")}}
	b, err := msg.Marshal(nil) // the kernel sums ICMPv6 itself
	if err != nil {
		return errResponse(err)
	}
	dst := &net.IPAddr{IP: net.IP(ip.AsSlice())}
	if _, err := c.WriteTo(b, dst); err != nil {
		return errResponse(err)
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return errResponse(err)
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err == nil && m.Type == reply && from.String() == addr {
			return response{Out: "reply"}
		}
	}
}

// tapAddrs lists the addresses of every interface but lo, sorted.
func tapAddrs() response {
	ifs, err := net.Interfaces()
	if err != nil {
		return errResponse(err)
	}
	var out []string
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && !p.Addr().IsLinkLocalUnicast() {
				out = append(out, p.String())
			}
		}
	}
	slices.Sort(out)
	return response{Out: strings.Join(out, " ")}
}

func TestPublishErrorPrivilegedPort(t *testing.T) {
	err := publishError("tcp", netip.MustParseAddrPort("0.0.0.0:80"),
		fmt.Errorf("listen tcp4 0.0.0.0:80: bind: %w", syscall.EACCES))
	if !errors.Is(err, syscall.EACCES) {
		t.Errorf("error does not wrap EACCES: %v", err)
	}
	for _, want := range []string{"privileged port", "net.ipv4.ip_unprivileged_port_start"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	err = publishError("tcp", netip.MustParseAddrPort("0.0.0.0:8080"), syscall.EADDRINUSE)
	if strings.Contains(err.Error(), "privileged") {
		t.Errorf("high port error mentions privileged ports: %v", err)
	}

	// The real thing, as an ordinary user.
	if os.Getuid() != 0 {
		return
	}
	if b, _ := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); strings.TrimSpace(string(b)) == "0" {
		t.Skip("net.ipv4.ip_unprivileged_port_start=0: port 80 is not privileged here")
	}
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=lowport")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	t.Logf("as uid 65534: %s", out)
	if !strings.Contains(string(out), "permission denied") || !strings.Contains(string(out), "ip_unprivileged_port_start") {
		t.Errorf("publishing port 80 as uid 65534: %s", out)
	}
}

// timeWaitEndpoints counts the stack's TCP endpoints in TIME-WAIT.
func timeWaitEndpoints(st *Stack) int {
	n := 0
	for _, e := range st.ns.RegisteredEndpoints() {
		if ep, ok := e.(*tcp.Endpoint); ok && ep.EndpointState() == tcp.StateTimeWait {
			n++
		}
	}
	return n
}
