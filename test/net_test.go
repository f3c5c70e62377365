package test

// User-mode networking (--net user), end to end, as an ordinary user.
//
// The far side is the test network of scripts/testnet (scripts/test brings
// it up before these tests and down at exit; by hand: sudo scripts/testnet
// up). Its addresses are constants here:
//
//	198.51.100.2  HTTP :80 "hello from 198.51.100.2\n", UDP echo :7
//	              ("198.51.100.2: " + datagram), DNS :53 (allowed.test and
//	              *.allowed.test A 198.51.100.2, blocked.test A 203.0.113.2,
//	              other names NXDOMAIN)
//	203.0.113.2   HTTP :80, UDP echo :7 (same, naming 203.0.113.2)
//	10.99.0.2     HTTP :80 (a host in a private range, the "LAN")
//	2001:db8:100::2, 2001:db8:113::2
//	              HTTP :80, UDP echo :7 (as above, naming the IPv6 address);
//	              the DNS server has allowed6.test AAAA 2001:db8:100::2 and
//	              blocked6.test AAAA 2001:db8:113::2 (no A records)
//	fd99::2       HTTP :80 (the LAN host's IPv6 address, private: fc00::/7)
//
// Inside, the sandbox has 10.0.2.100/24 and fd73:6278::100/64, gateway
// 10.0.2.2 and fd73:6278::2, resolver 10.0.2.3 and fd73:6278::3.
//
// Every run gives --net-dns 198.51.100.2, so no test ever makes the
// sandbox's resolver ask the host's real name server.
//
// Inside the sandbox only /usr is bound; the probes are a python3 script
// (netProbeScript) in the working directory, which the sandbox binds
// read-only. It prints one JSON line per probe; "refused" below means the
// probe failed (connection refused, reset, unreachable, or no answer within
// its timeout), whatever the way the sandbox refuses.
//
// After every sandbox run the test checks that nothing it started is left:
// no process of the binary (or its stages), of slirp4netns or pasta, and
// none of the programs run inside.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	inetA    = "198.51.100.2" // allowed.test; also the DNS server
	inetB    = "203.0.113.2"  // blocked.test
	lanHost  = "10.99.0.2"
	testDNS  = inetA
	tapAddr  = "10.0.2.100"
	tapMask  = "255.255.255.0"
	tapGW    = "10.0.2.2"
	tapDNS   = "10.0.2.3"
	tapMTU   = 65520
	tapAddr6 = "fd73:6278::100"
	tapGW6   = "fd73:6278::2"
	inetA6   = "2001:db8:100::2" // allowed6.test
	inetB6   = "2001:db8:113::2" // blocked6.test
	lanHost6 = "fd99::2"
	bodyA6   = "hello from " + inetA6 + "\n"
	bodyB6   = "hello from " + inetB6 + "\n"
	bodyLAN6 = "hello from " + lanHost6 + "\n"
	echoA6   = inetA6 + ": " + echoMsg
	probePy  = "sbx-net-probe.py"
	bodyA    = "hello from " + inetA + "\n"
	bodyB    = "hello from " + inetB + "\n"
	bodyLAN  = "hello from " + lanHost + "\n"
	echoMsg  = "ping-sbx"
	echoA    = inetA + ": " + echoMsg
	echoB    = inetB + ": " + echoMsg
	netRunTO = 90 * time.Second
)

// netProbeScript runs the probes named by its arguments, one per argument
// ("KIND ARG..."), and prints one JSON object per probe, in order.
const netProbeScript = `import errno, fcntl, http.client, json, os, socket, struct, sys, urllib.request

def err_text(e):
    r = getattr(e, "reason", None)
    if isinstance(r, BaseException):
        e = r
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, ConnectionResetError):
        return "reset"
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(e, socket.gaierror):
        return "gaierror: %s" % e
    if isinstance(e, OSError) and e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "unreachable"
    if isinstance(e, OSError):
        return "oserror: %s: %s" % (type(e).__name__, e)
    if isinstance(e, http.client.HTTPException):
        return "http: %s: %s" % (type(e).__name__, e)
    return "bug: %s: %s" % (type(e).__name__, e)

opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

def p_http(url):
    with opener.open(url, timeout=5) as r:
        return {"ok": True, "body": r.read().decode("utf-8", "replace")}

def p_udp(host, port, msg):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    try:
        for _ in range(3):
            s.sendto(msg.encode(), (host, int(port)))
            try:
                data, _ = s.recvfrom(65535)
            except socket.timeout:
                continue
            return {"ok": True, "body": data.decode("utf-8", "replace")}
        return {"ok": False, "err": "timeout"}
    finally:
        s.close()

def skip_name(m, off):
    while True:
        n = m[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n

def p_dns(name, qtype=1, server="10.0.2.3"):
    qid = struct.unpack("!H", os.urandom(2))[0]
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack("!HH", qtype, 1)
    s = socket.socket(socket.AF_INET6 if ":" in server else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    try:
        for _ in range(3):
            s.sendto(q, (server, 53))
            try:
                r, _ = s.recvfrom(65535)
            except socket.timeout:
                continue
            rid, flags, qd, an = struct.unpack("!HHHH", r[:8])
            if rid != qid:
                continue
            off = 12
            for _ in range(qd):
                off = skip_name(r, off) + 4
            addrs = []
            for _ in range(an):
                off = skip_name(r, off)
                typ, cls, ttl, n = struct.unpack("!HHIH", r[off:off + 10])
                off += 10
                if typ == 1 and n == 4:
                    addrs.append(socket.inet_ntoa(r[off:off + 4]))
                if typ == 28 and n == 16:
                    addrs.append(socket.inet_ntop(socket.AF_INET6, r[off:off + 16]))
                off += n
            return {"ok": True, "rcode": flags & 0xF, "addrs": addrs}
        return {"ok": False, "err": "timeout"}
    finally:
        s.close()

def p_dns6(name):
    return p_dns(name, 28)

def p_dns_over6(name):
    return p_dns(name, 28, "fd73:6278::3")

def p_gai(name, family=socket.AF_INET):
    infos = socket.getaddrinfo(name, 80, family, socket.SOCK_STREAM)
    return {"ok": True, "addrs": sorted(set(i[4][0] for i in infos))}

def p_gai6(name):
    return p_gai(name, socket.AF_INET6)

def p_addr6():
    out = []
    with open("/proc/net/if_inet6") as f:
        for line in f:
            a, _, plen, scope, _, dev = line.split()
            if dev != "lo" and int(scope, 16) == 0:
                ip = socket.inet_ntop(socket.AF_INET6, bytes.fromhex(a))
                out.append("%s/%d %s" % (ip, int(plen, 16), dev))
    return {"ok": True, "addrs": sorted(out)}

def p_route6():
    with open("/proc/net/ipv6_route") as f:
        for line in f:
            x = line.split()
            if x[0] == "0" * 32 and x[1] == "00" and x[9] != "lo":
                gw = socket.inet_ntop(socket.AF_INET6, bytes.fromhex(x[4]))
                return {"ok": True, "body": gw, "dev": x[9]}
    return {"ok": False, "err": "no default route"}

def p_ifaces():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out = []
    for _, name in socket.if_nameindex():
        ifr = struct.pack("16s24x", name.encode())
        flags = struct.unpack("H", fcntl.ioctl(s, 0x8913, ifr)[16:18])[0]
        mtu = struct.unpack("i", fcntl.ioctl(s, 0x8921, ifr)[16:20])[0]
        try:
            addr = socket.inet_ntoa(fcntl.ioctl(s, 0x8915, ifr)[20:24])
            mask = socket.inet_ntoa(fcntl.ioctl(s, 0x891b, ifr)[20:24])
        except OSError:
            addr = mask = ""
        out.append({"name": name, "up": bool(flags & 1), "mtu": mtu, "addr": addr, "mask": mask})
    return {"ok": True, "ifaces": out}

def p_route():
    with open("/proc/net/route") as f:
        for line in f.readlines()[1:]:
            x = line.split()
            if x[1] == "00000000" and x[7] == "00000000":
                gw = socket.inet_ntoa(struct.pack("<I", int(x[2], 16)))
                return {"ok": True, "body": gw, "dev": x[0]}
    return {"ok": False, "err": "no default route"}

def p_file(path):
    with open(path) as f:
        return {"ok": True, "body": f.read()}

kinds = {"http": p_http, "udp": p_udp, "dns": p_dns, "dns6": p_dns6, "dns-over6": p_dns_over6,
         "gai": p_gai, "gai6": p_gai6, "ifaces": p_ifaces, "route": p_route, "addr6": p_addr6,
         "route6": p_route6, "file": p_file}
for spec in sys.argv[1:]:
    kind, *args = spec.split()
    try:
        res = kinds[kind](*args)
    except Exception as e:
        res = {"ok": False, "err": err_text(e)}
    res["probe"] = spec
    print(json.dumps(res), flush=True)
`

// probeResult is one line of netProbeScript's output.
type probeResult struct {
	Probe  string   `json:"probe"`
	OK     bool     `json:"ok"`
	Body   string   `json:"body"`
	Err    string   `json:"err"`
	Rcode  int      `json:"rcode"`
	Addrs  []string `json:"addrs"`
	Dev    string   `json:"dev"`
	Ifaces []struct {
		Name string `json:"name"`
		Up   bool   `json:"up"`
		MTU  int    `json:"mtu"`
		Addr string `json:"addr"`
		Mask string `json:"mask"`
	} `json:"ifaces"`
}

func (p probeResult) String() string {
	if p.OK {
		return fmt.Sprintf("%s: ok body=%q rcode=%d addrs=%q", p.Probe, p.Body, p.Rcode, p.Addrs)
	}
	return fmt.Sprintf("%s: failed (%s)", p.Probe, p.Err)
}

// probeDir makes a working directory holding the probe script.
func probeDir(t *testing.T) string {
	t.Helper()
	d := workDir(t)
	if err := os.WriteFile(filepath.Join(d, probePy), []byte(netProbeScript), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

// netExec runs bin as runWith does, but bounds the wait for its output
// too: a process left holding stdout or stderr open fails the test instead
// of hanging it.
func netExec(t *testing.T, dir string, timeout time.Duration, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %q: timed out after %v\n%s\n%s", bin, args, timeout, out.String(), errb.String())
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		t.Fatalf("%s %q: exited, but something it started still held its output open 5s later\n%s\n%s", bin, args, out.String(), errb.String())
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s %q: %v", bin, args, err)
		}
		ws := ee.Sys().(syscall.WaitStatus)
		code = ws.ExitStatus()
		if ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// netRun runs the probes in a sandbox with --net user --net-dns
// 198.51.100.2 and flags, checks that it exits 0 and leaves nothing
// running, and returns the probes' results by their spec.
func netRun(t *testing.T, dir string, flags []string, probes ...string) map[string]probeResult {
	t.Helper()
	return netRunBase(t, dir, []string{"--net", "user", "--net-dns", testDNS}, flags, probes...)
}

func netRunBase(t *testing.T, dir string, base, flags []string, probes ...string) map[string]probeResult {
	t.Helper()
	args := concat(base, flags,
		[]string{"--ro-bind", "/usr", "--", "/usr/bin/python3", probePy}, probes)
	before := netProcs()
	r := netExec(t, dir, netRunTO, sandboxBin, args...)
	noneLeft(t, before)
	mustCode(t, r, 0)
	out := map[string]probeResult{}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		var p probeResult
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("probe output %q: %v\n%s", sc.Text(), err, r)
		}
		out[p.Probe] = p
	}
	for _, p := range probes {
		if _, ok := out[p]; !ok {
			t.Fatalf("no result for probe %q:\n%s", p, r)
		}
	}
	return out
}

func httpProbe(host string) string { return "http http://" + host + "/" }
func udpProbe(host string, port int) string {
	return fmt.Sprintf("udp %s %d %s", host, port, echoMsg)
}

// wantBody: the probe worked and got exactly body.
func wantBody(t *testing.T, res map[string]probeResult, probe, body string) {
	t.Helper()
	p := res[probe]
	if !p.OK || p.Body != body {
		t.Errorf("%s: want %q, got %v", probe, body, p)
	}
}

// wantRefused: the probe failed, for a reason of the network's (any:
// refused, reset, unreachable, timeout, a name that does not resolve), not
// a fault of the probe's.
func wantRefused(t *testing.T, res map[string]probeResult, probe string) {
	t.Helper()
	if p := res[probe]; p.OK || strings.HasPrefix(p.Err, "bug: ") {
		t.Errorf("%s: want it refused, got %v", probe, p)
	}
}

// wantAddrs: the probe (dns or gai) gave exactly addrs (and, for dns, NOERROR).
func wantAddrs(t *testing.T, res map[string]probeResult, probe string, addrs ...string) {
	t.Helper()
	p := res[probe]
	if !p.OK || p.Rcode != 0 || strings.Join(p.Addrs, ",") != strings.Join(addrs, ",") {
		t.Errorf("%s: want %q, got %v", probe, addrs, p)
	}
}

// wantNoAddrs: the name did not resolve (no answer, an error, or no address).
func wantNoAddrs(t *testing.T, res map[string]probeResult, probe string) {
	t.Helper()
	if p := res[probe]; p.OK && len(p.Addrs) > 0 || strings.HasPrefix(p.Err, "bug: ") {
		t.Errorf("%s: want no address, got %v", probe, p)
	}
}

// ---------------------------------------------------------------- hosts ---

// requireTun: --net user needs /dev/net/tun openable by the user (mode 0666,
// as desktops have it; scripts/testnet up sets it).
func requireTun(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err == nil {
		f.Close()
	}
	requireHost(t, err == nil, fmt.Sprintf("cannot open /dev/net/tun (%v): sudo chmod 0666 /dev/net/tun, or sudo scripts/testnet up", err))
}

// requireTestNet: the network of scripts/testnet is up and answers.
func requireTestNet(t *testing.T) {
	t.Helper()
	requireUser(t)
	_, err := os.Stat("/run/netns/sbx-inet")
	requireHost(t, err == nil, "the test network is not up (ip netns list lacks sbx-inet): sudo scripts/testnet up")
	requireTun(t)
	for _, c := range []struct{ host, body string }{{inetA, bodyA}, {inetB, bodyB}, {lanHost, bodyLAN}} {
		if got, err := hostGet("http://"+c.host+"/", 3*time.Second); err != nil || got != c.body {
			t.Fatalf("the test network is up but %s does not answer from the host (%q, %v): sudo scripts/testnet check", c.host, got, err)
		}
	}
}

var directClient = &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}

// hostGet: an HTTP GET from the host (this process), no proxy.
func hostGet(url string, timeout time.Duration) (string, error) {
	c := *directClient
	c.Timeout = timeout
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return string(b), fmt.Errorf("status %s", resp.Status)
	}
	return string(b), err
}

// hostIPv4s: the host's own IPv4 addresses but loopback.
func hostIPv4s(t *testing.T) []string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			out = append(out, n.IP.String())
		}
	}
	if len(out) == 0 {
		t.Fatal("the host has no IPv4 address but loopback")
	}
	return out
}

// hostIPv6s: the host's own global IPv6 addresses (not ::1, not
// link-local: the sandbox has no route to the host's links).
func hostIPv6s(t *testing.T) []string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() == nil && n.IP.IsGlobalUnicast() {
			out = append(out, n.IP.String())
		}
	}
	return out
}

// requireTestNet6: the test network is up with its IPv6 half, which
// scripts/testnet leaves out on a host without IPv6.
func requireTestNet6(t *testing.T) {
	t.Helper()
	requireTestNet(t)
	_, err := os.Stat("/run/sbx-testnet/ipv6")
	requireHost(t, err == nil, "the test network has no IPv6 half (the host has no IPv6: see scripts/testnet up)")
	for _, c := range []struct{ host, body string }{{inetA6, bodyA6}, {inetB6, bodyB6}, {lanHost6, bodyLAN6}} {
		if got, err := hostGet("http://["+c.host+"]/", 3*time.Second); err != nil || got != c.body {
			t.Fatalf("the test network is up but %s does not answer from the host (%q, %v): sudo scripts/testnet check", c.host, got, err)
		}
	}
}

// sandboxHasIPv6: a new network namespace gets IPv6 (and the sandbox its
// IPv6 address): the kernel has it, and new namespaces do not inherit the
// host's disable_ipv6 (net.core.devconf_inherit_init_net) or it is 0.
func sandboxHasIPv6() bool {
	if _, err := os.Stat("/proc/net/if_inet6"); err != nil {
		return false
	}
	inherit, _ := os.ReadFile("/proc/sys/net/core/devconf_inherit_init_net")
	if strings.TrimSpace(string(inherit)) != "1" {
		return true
	}
	off, _ := os.ReadFile("/proc/sys/net/ipv6/conf/default/disable_ipv6")
	return strings.TrimSpace(string(off)) == "0"
}

// ----------------------------------------------------------- leftovers ---

// netProcs: the processes a sandbox run may leave: the binary and its
// stages, its network helper, slirp4netns, pasta/passt, and the programs the
// tests run inside.
func netProcs() map[int]string {
	out := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !processAlive(pid) {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		c := strings.TrimSpace(string(comm))
		b, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		cmdline := strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
		exe, _ := os.Readlink("/proc/" + e.Name() + "/exe")
		if c == "sandbox" || c == "sandbox-net" || exe == sandboxBin || c == "slirp4netns" || strings.HasPrefix(c, "pasta") ||
			strings.HasPrefix(c, "passt") || strings.Contains(cmdline, "--stage-") ||
			strings.Contains(cmdline, probePy) || strings.Contains(cmdline, "http.server") ||
			strings.Contains(cmdline, "sbx-udp-echo") {
			out[pid] = c + ": " + cmdline
		}
	}
	return out
}

// noneLeft: within 5s, no process of netProcs' kinds that was not there
// before is still running.
func noneLeft(t *testing.T, before map[int]string) {
	t.Helper()
	var left []string
	for deadline := time.Now().Add(5 * time.Second); ; {
		left = left[:0]
		for pid, what := range netProcs() {
			if _, ok := before[pid]; !ok {
				left = append(left, fmt.Sprintf("pid %d %s", pid, what))
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("left running 5s after the sandbox exited:\n  %s", strings.Join(left, "\n  "))
}

// -------------------------------------------------------------- net log ---

// netLogEntry is one line of --net-log.
type netLogEntry struct {
	raw         string
	proto, host string
	port        int
	rule        string
}

// readNetLog reads --net-log FILE: every line must be a JSON object with
// time (RFC 3339), proto, destination ("IP:PORT", or "IP" with a numeric
// "port") and a non-empty rule. A missing file is an empty log.
//
// Entries are matched by proto, address and port; an address given as "ip"
// instead of "destination" is still matched (so that the checks of what is
// logged stay separate), but the missing "destination" is an error.
func readNetLog(t *testing.T, path string) []netLogEntry {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []netLogEntry
	var bad, noDest []string
	defer func() {
		if len(bad) > 0 {
			t.Errorf("%d --net-log lines lack an RFC 3339 time, proto, destination (\"IP:PORT\", or \"IP\" and a numeric port) or rule, e.g.:\n  %s",
				len(bad), strings.Join(bad[:min(len(bad), 3)], "\n  "))
		}
		if len(noDest) > 0 {
			t.Errorf("%d --net-log lines have no \"destination\" field, e.g.:\n  %s", len(noDest), strings.Join(noDest[:min(len(noDest), 3)], "\n  "))
		}
	}()
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("--net-log line is not JSON: %q: %v", line, err)
		}
		e := netLogEntry{raw: line}
		ts, _ := m["time"].(string)
		_, terr := time.Parse(time.RFC3339Nano, ts)
		e.proto, _ = m["proto"].(string)
		e.proto = strings.ToLower(e.proto)
		e.rule, _ = m["rule"].(string)
		dest, ok := m["destination"].(string)
		if !ok {
			noDest = append(noDest, line)
			dest, _ = m["ip"].(string)
		}
		if h, p, err := net.SplitHostPort(dest); err == nil {
			e.host = h
			e.port, _ = strconv.Atoi(p)
		} else {
			e.host = dest
			if p, ok := m["port"].(float64); ok {
				e.port = int(p)
			}
		}
		if terr != nil || e.proto == "" || e.host == "" || e.port == 0 || e.rule == "" {
			bad = append(bad, line)
		}
		out = append(out, e)
	}
	return out
}

// wantLogged: the log has an entry for proto to one of hosts at port.
func wantLogged(t *testing.T, log []netLogEntry, proto string, port int, hosts ...string) {
	t.Helper()
	for _, e := range log {
		for _, h := range hosts {
			if e.proto == proto && e.host == h && e.port == port {
				return
			}
		}
	}
	var seen []string
	have := map[string]bool{}
	for _, e := range log {
		k := fmt.Sprintf("%s %s:%d", e.proto, e.host, e.port)
		if !have[k] {
			have[k] = true
			seen = append(seen, k)
		}
	}
	t.Errorf("--net-log has no %s entry for %s port %d; it has %d entries: %s", proto, strings.Join(hosts, " or "), port, len(log), strings.Join(seen, ", "))
}

// wantNotLogged: no entry names host.
func wantNotLogged(t *testing.T, log []netLogEntry, host string) {
	t.Helper()
	for _, e := range log {
		if e.host == host {
			t.Errorf("--net-log names %s, which was not refused: %s", host, e.raw)
		}
	}
}

// ---------------------------------------------------------------- tests ---

// TestNetNoneByDefault: without --net (and with --net none) only lo.
func TestNetNoneByDefault(t *testing.T) {
	for _, pre := range [][]string{nil, {"--net", "none"}} {
		r := sb(t, concat(pre, []string{"--ro-bind", "/usr", "--", "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"})...)
		mustCode(t, r, 0)
		if strings.TrimSpace(r.stdout) != "lo" {
			t.Errorf("%q: interfaces %q, want only lo", pre, r.stdout)
		}
	}
}

// TestNetUserInterface: --net user gives lo and one TAP interface,
// 10.0.2.100/24, MTU 65520, up, default route via 10.0.2.2, and
// /etc/resolv.conf naming 10.0.2.3.
func TestNetUserInterface(t *testing.T) {
	requireUser(t)
	requireTun(t)
	dir := probeDir(t)
	res := netRun(t, dir, nil, "ifaces", "route", "file /etc/resolv.conf", "addr6", "route6")
	var tap []string
	for _, i := range res["ifaces"].Ifaces {
		switch {
		case i.Name == "lo":
			if !i.Up || i.Addr != "127.0.0.1" {
				t.Errorf("lo: %+v, want up with 127.0.0.1", i)
			}
		case !i.Up && i.Addr == "":
			// A kernel's fallback tunnel device (tunl0, sit0...) in
			// every new namespace: down, no address.
		default:
			tap = append(tap, i.Name)
			if !i.Up || i.Addr != tapAddr || i.Mask != tapMask || i.MTU != tapMTU {
				t.Errorf("%s: %+v; want up, %s/%s, MTU %d", i.Name, i, tapAddr, tapMask, tapMTU)
			}
		}
	}
	if len(tap) != 1 {
		t.Errorf("interfaces besides lo: %q, want one (%v)", tap, res["ifaces"])
	}
	if r := res["route"]; !r.OK || r.Body != tapGW || len(tap) == 1 && r.Dev != tap[0] {
		t.Errorf("default route: %v dev %q; want via %s on %q", r, r.Dev, tapGW, tap)
	}
	rc := res["file /etc/resolv.conf"]
	var ns []string
	for _, l := range strings.Split(rc.Body, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "nameserver" {
			ns = append(ns, f[1])
		}
	}
	if !rc.OK || len(ns) != 1 || ns[0] != tapDNS {
		t.Errorf("/etc/resolv.conf: %v; want exactly 'nameserver %s'", rc, tapDNS)
	}
	// IPv6: one global address on the TAP and a default route, when new
	// namespaces have IPv6 at all; none otherwise (IPv4 still works).
	a6, r6 := res["addr6"], res["route6"]
	if !sandboxHasIPv6() {
		if len(a6.Addrs) != 0 {
			t.Errorf("IPv6 addresses %q though new namespaces have no IPv6 here", a6.Addrs)
		}
		return
	}
	if len(tap) == 1 && (!a6.OK || strings.Join(a6.Addrs, ",") != tapAddr6+"/64 "+tap[0]) {
		t.Errorf("global IPv6 addresses: %v; want %s/64 on %s", a6, tapAddr6, tap[0])
	}
	if !r6.OK || r6.Body != tapGW6 || len(tap) == 1 && r6.Dev != tap[0] {
		t.Errorf("IPv6 default route: %v dev %q; want via %s on %q", r6, r6.Dev, tapGW6, tap)
	}
}

// TestNetHTTPAndDNS: the default policy lets public addresses through, TCP
// and UDP; the sandbox's resolver (10.0.2.3) forwards to --net-dns, and a
// name works end to end; nothing of that is logged as refused.
func TestNetHTTPAndDNS(t *testing.T) {
	requireTestNet(t)
	dir := probeDir(t)
	logf := filepath.Join(dir, "net.log")
	res := netRun(t, dir, []string{"--net-log", logf},
		httpProbe(inetA), httpProbe(inetB), udpProbe(inetA, 7), udpProbe(inetB, 7),
		"dns allowed.test", "dns blocked.test", "dns nonexistent.test",
		"gai allowed.test", "http http://allowed.test/", "http http://www.allowed.test/")
	wantBody(t, res, httpProbe(inetA), bodyA)
	wantBody(t, res, httpProbe(inetB), bodyB)
	wantBody(t, res, udpProbe(inetA, 7), echoA)
	wantBody(t, res, udpProbe(inetB, 7), echoB)
	wantAddrs(t, res, "dns allowed.test", inetA)
	wantAddrs(t, res, "dns blocked.test", inetB)
	if p := res["dns nonexistent.test"]; !p.OK || p.Rcode != 3 || len(p.Addrs) != 0 {
		t.Errorf("dns nonexistent.test: want NXDOMAIN (rcode 3) passed on, got %v", p)
	}
	wantAddrs(t, res, "gai allowed.test", inetA)
	wantBody(t, res, "http http://allowed.test/", bodyA)
	wantBody(t, res, "http http://www.allowed.test/", bodyA)
	for _, e := range readNetLog(t, logf) {
		t.Errorf("--net-log has an entry though nothing was refused: %s", e.raw)
	}
}

// hostServer is a TCP (HTTP) and a UDP echo server of the test's own on the
// host's 0.0.0.0 (or [::] for startHostServer6), so reachable at 127.0.0.1
// (::1) and every host address of that family; it counts what reaches it.
type hostServer struct {
	tcpPort, udpPort int
	mu               sync.Mutex
	tcpLocal         []string // local addresses of accepted connections
	udpFrom          []string
}

func (s *hostServer) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tcpLocal, s.udpFrom = nil, nil
}

func (s *hostServer) seen() (tcp, udp []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tcpLocal...), append([]string(nil), s.udpFrom...)
}

// wantOnlyLoopback checks that the server saw one TCP connection, to
// loopback (127.0.0.1 or [::1]) at its port, and datagrams from loopback
// only; it returns the datagrams' sources.
func (s *hostServer) wantOnlyLoopback(t *testing.T, loopback string) (udp []string) {
	t.Helper()
	tcp, udp := s.seen()
	want := fmt.Sprintf("%s:%d", loopback, s.tcpPort)
	if len(tcp) != 1 || tcp[0] != want {
		t.Errorf("host server's TCP connections went to %q, want one to %s", tcp, want)
	}
	for _, from := range udp {
		if !strings.HasPrefix(from, loopback+":") {
			t.Errorf("a datagram reached the host server from %s, want only from %s (udp: %q)", from, loopback, udp)
		}
	}
	return udp
}

// answersAt checks, from the host, that the server answers HTTP at every
// one of ips (so that a failure from inside is the sandbox's refusal), then
// forgets those connections.
func (s *hostServer) answersAt(t *testing.T, ips []string) {
	t.Helper()
	for _, ip := range ips {
		url := "http://" + net.JoinHostPort(ip, strconv.Itoa(s.tcpPort)) + "/"
		if got, err := hostGet(url, 3*time.Second); err != nil || got != hostBody {
			t.Fatalf("the host server does not answer the host at %s: %q %v", ip, got, err)
		}
	}
	s.reset()
}

const hostBody = "host loopback server\n"

func startHostServer(t *testing.T) *hostServer {
	t.Helper()
	return startHostServerOn(t, "4", "0.0.0.0:0")
}

// startHostServer6: the IPv6 one, on [::] (IPv6 only).
func startHostServer6(t *testing.T) *hostServer {
	t.Helper()
	return startHostServerOn(t, "6", "[::]:0")
}

func startHostServerOn(t *testing.T, family, addr string) *hostServer {
	t.Helper()
	s := &hostServer{}
	ln, err := net.Listen("tcp"+family, addr)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp"+family, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); pc.Close() })
	s.tcpPort = ln.Addr().(*net.TCPAddr).Port
	s.udpPort = pc.LocalAddr().(*net.UDPAddr).Port
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.tcpLocal = append(s.tcpLocal, c.LocalAddr().String())
			s.mu.Unlock()
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				rd := bufio.NewReader(c)
				for {
					l, err := rd.ReadString('\n')
					if err != nil || l == "\r\n" {
						break
					}
				}
				fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(hostBody), hostBody)
			}()
		}
	}()
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.udpFrom = append(s.udpFrom, from.String())
			s.mu.Unlock()
			pc.WriteTo(append([]byte("host: "), buf[:n]...), from)
		}
	}()
	return s
}

// TestNetHostLoopback: a server on the host's loopback (and every host
// address) is refused from inside at 10.0.2.2 and at the host's own
// addresses, TCP and UDP, and logged with the rule; 127.0.0.1 inside is the
// sandbox's own lo. --net-allow-host-loopback makes 10.0.2.2:PORT the
// host's 127.0.0.1:PORT, and only that.
func TestNetHostLoopback(t *testing.T) {
	requireTestNet(t)
	srv := startHostServer(t)
	hostIPs := hostIPv4s(t)
	// The server does answer from the host at every address, so a failure
	// inside is the sandbox's refusal.
	srv.answersAt(t, append([]string{"127.0.0.1"}, hostIPs...))

	gwHTTP := httpProbe(fmt.Sprintf("%s:%d", tapGW, srv.tcpPort))
	loHTTP := httpProbe(fmt.Sprintf("127.0.0.1:%d", srv.tcpPort))
	gwUDP := udpProbe(tapGW, srv.udpPort)
	probes := []string{gwHTTP, loHTTP, gwUDP}
	for _, ip := range hostIPs {
		probes = append(probes, httpProbe(fmt.Sprintf("%s:%d", ip, srv.tcpPort)), udpProbe(ip, srv.udpPort))
	}

	t.Run("refused", func(t *testing.T) {
		dir := probeDir(t)
		logf := filepath.Join(dir, "net.log")
		res := netRun(t, dir, []string{"--net-log", logf}, probes...)
		for _, p := range probes {
			wantRefused(t, res, p)
		}
		if tcp, udp := srv.seen(); len(tcp)+len(udp) != 0 {
			t.Errorf("the host server was reached from inside: tcp to %q, udp from %q", tcp, udp)
		}
		log := readNetLog(t, logf)
		wantLogged(t, log, "tcp", srv.tcpPort, tapGW, "127.0.0.1")
		wantLogged(t, log, "udp", srv.udpPort, tapGW, "127.0.0.1")
		for _, ip := range hostIPs {
			wantLogged(t, log, "tcp", srv.tcpPort, ip)
			wantLogged(t, log, "udp", srv.udpPort, ip)
		}
	})

	t.Run("allow-host-loopback", func(t *testing.T) {
		srv.reset()
		dir := probeDir(t)
		logf := filepath.Join(dir, "net.log")
		res := netRun(t, dir, []string{"--net-allow-host-loopback", "--net-log", logf}, probes...)
		wantBody(t, res, gwHTTP, hostBody)
		wantBody(t, res, gwUDP, "host: "+echoMsg)
		wantRefused(t, res, loHTTP)
		for _, p := range probes[3:] {
			wantRefused(t, res, p)
		}
		udp := srv.wantOnlyLoopback(t, "127.0.0.1")
		if len(udp) == 0 {
			t.Errorf("no datagram reached the host server")
		}
		log := readNetLog(t, logf)
		for _, ip := range hostIPs {
			wantLogged(t, log, "tcp", srv.tcpPort, ip)
		}
		wantNotLogged(t, log, tapGW)
		wantNotLogged(t, log, "127.0.0.1")
	})
}

// TestNetIPv6: IPv6 goes through the same stack and policy as IPv4: HTTP
// and UDP to a public IPv6 host work, a name with only an AAAA record
// resolves (over the resolver's IPv4 and IPv6 addresses) and works; the LAN
// host's private address, the host's own global addresses and, behind the
// IPv6 gateway, its ::1 are refused and logged; --net-allow-host-loopback
// makes [fd73:6278::2]:PORT the host's [::1]:PORT, and only that.
func TestNetIPv6(t *testing.T) {
	requireTestNet6(t)
	srv := startHostServer6(t)
	hostIPs := hostIPv6s(t)
	srv.answersAt(t, append([]string{"::1"}, hostIPs...))
	gwHTTP := httpProbe(fmt.Sprintf("[%s]:%d", tapGW6, srv.tcpPort))
	gwUDP := udpProbe(tapGW6, srv.udpPort)
	lan := httpProbe("[" + lanHost6 + "]")
	var hostProbes []string
	for _, ip := range hostIPs {
		hostProbes = append(hostProbes, httpProbe(fmt.Sprintf("[%s]:%d", ip, srv.tcpPort)), udpProbe(ip, srv.udpPort))
	}

	t.Run("default", func(t *testing.T) {
		dir := probeDir(t)
		logf := filepath.Join(dir, "net.log")
		probes := append([]string{httpProbe("[" + inetA6 + "]"), udpProbe(inetA6, 7),
			"dns6 allowed6.test", "dns-over6 allowed6.test", "gai6 allowed6.test", "http http://allowed6.test/",
			lan, gwHTTP, gwUDP}, hostProbes...)
		res := netRun(t, dir, []string{"--net-log", logf}, probes...)
		wantBody(t, res, httpProbe("["+inetA6+"]"), bodyA6)
		wantBody(t, res, udpProbe(inetA6, 7), echoA6)
		wantAddrs(t, res, "dns6 allowed6.test", inetA6)
		wantAddrs(t, res, "dns-over6 allowed6.test", inetA6)
		wantAddrs(t, res, "gai6 allowed6.test", inetA6)
		wantBody(t, res, "http http://allowed6.test/", bodyA6)
		for _, p := range append([]string{lan, gwHTTP, gwUDP}, hostProbes...) {
			wantRefused(t, res, p)
		}
		if tcp, udp := srv.seen(); len(tcp)+len(udp) != 0 {
			t.Errorf("the host server was reached from inside: tcp to %q, udp from %q", tcp, udp)
		}
		log := readNetLog(t, logf)
		wantLogged(t, log, "tcp", 80, lanHost6)
		wantLogged(t, log, "tcp", srv.tcpPort, tapGW6)
		wantLogged(t, log, "udp", srv.udpPort, tapGW6)
		for _, ip := range hostIPs {
			wantLogged(t, log, "tcp", srv.tcpPort, ip)
			wantLogged(t, log, "udp", srv.udpPort, ip)
		}
		wantNotLogged(t, log, inetA6)
	})

	t.Run("allow-host-loopback", func(t *testing.T) {
		srv.reset()
		dir := probeDir(t)
		res := netRun(t, dir, []string{"--net-allow-host-loopback"}, append([]string{gwHTTP, gwUDP, lan}, hostProbes...)...)
		wantBody(t, res, gwHTTP, hostBody)
		wantBody(t, res, gwUDP, "host: "+echoMsg)
		wantRefused(t, res, lan)
		for _, p := range hostProbes {
			wantRefused(t, res, p)
		}
		srv.wantOnlyLoopback(t, "[::1]")
	})

	t.Run("allow a private IPv6 range", func(t *testing.T) {
		dir := probeDir(t)
		res := netRun(t, dir, []string{"--net-allow", "[fd99::/64]:80"}, lan, httpProbe("["+inetA6+"]"))
		wantBody(t, res, lan, bodyLAN6)
		wantBody(t, res, httpProbe("["+inetA6+"]"), bodyA6)
	})
}

// TestNetPrivateRange: the LAN host 10.99.0.2 is refused by default and
// logged; --net-allow with a CIDR, an address, a port or range and a
// protocol admits it exactly as written.
func TestNetPrivateRange(t *testing.T) {
	requireTestNet(t)
	lan := httpProbe(lanHost)
	t.Run("refused", func(t *testing.T) {
		dir := probeDir(t)
		logf := filepath.Join(dir, "net.log")
		res := netRun(t, dir, []string{"--net-log", logf}, lan, httpProbe(inetA))
		wantRefused(t, res, lan)
		wantBody(t, res, httpProbe(inetA), bodyA)
		log := readNetLog(t, logf)
		wantLogged(t, log, "tcp", 80, lanHost)
		wantNotLogged(t, log, inetA)
	})
	for _, c := range []struct {
		rule  string
		admit bool
	}{
		{"10.99.0.0/24", true},
		{"10.99.0.2", true},
		{"10.99.0.2:80", true},
		{"tcp/10.99.0.0/24:80", true},
		{"10.99.0.0/24:79-81", true},
		{"10.99.0.2:81", false},
		{"10.99.0.0/24:81-90", false},
		{"udp/10.99.0.0/24", false},
		{"10.99.1.0/24", false},
	} {
		t.Run("allow "+c.rule, func(t *testing.T) {
			dir := probeDir(t)
			res := netRun(t, dir, []string{"--net-allow", c.rule}, lan, httpProbe(inetA))
			// An address rule opens a hole; it is no allowlist.
			wantBody(t, res, httpProbe(inetA), bodyA)
			if c.admit {
				wantBody(t, res, lan, bodyLAN)
			} else {
				wantRefused(t, res, lan)
			}
		})
	}
}

// TestNetDeny: --net-deny refuses what it names, and only that.
func TestNetDeny(t *testing.T) {
	requireTestNet(t)
	hA, hB, uA, uB := httpProbe(inetA), httpProbe(inetB), udpProbe(inetA, 7), udpProbe(inetB, 7)
	nA, nB, nuB := httpProbe("allowed.test"), httpProbe("blocked.test"), udpProbe("blocked.test", 7)
	for _, c := range []struct {
		rule    string
		refused []string
		logged  [][2]string // proto, host (port from the probe)
	}{
		{inetA, []string{hA, uA}, [][2]string{{"tcp", inetA}, {"udp", inetA}}},
		{"198.51.100.0/24:80", []string{hA}, [][2]string{{"tcp", inetA}}},
		{"udp/" + inetA + ":7", []string{uA}, [][2]string{{"udp", inetA}}},
		{"tcp/203.0.113.0/24", []string{hB}, [][2]string{{"tcp", inetB}}},
		// A denied name: reached by that name it is refused (whether its
		// resolution or the connection is), other names and addresses not.
		{"blocked.test", []string{nB, nuB}, nil},
	} {
		t.Run(c.rule, func(t *testing.T) {
			dir := probeDir(t)
			logf := filepath.Join(dir, "net.log")
			probes := []string{hA, hB, uA, uB}
			if strings.HasSuffix(c.rule, ".test") {
				probes = []string{nB, nuB, nA, hA}
			}
			res := netRun(t, dir, []string{"--net-deny", c.rule, "--net-log", logf}, probes...)
			refused := map[string]bool{}
			for _, p := range c.refused {
				refused[p] = true
				wantRefused(t, res, p)
			}
			want := map[string]string{hA: bodyA, hB: bodyB, uA: echoA, uB: echoB, nA: bodyA}
			for _, p := range probes {
				if !refused[p] {
					wantBody(t, res, p, want[p])
				}
			}
			log := readNetLog(t, logf)
			for _, l := range c.logged {
				port := 80
				if l[0] == "udp" {
					port = 7
				}
				wantLogged(t, log, l[0], port, l[1])
			}
		})
	}
}

// TestNetDomainAllowlist: a domain in --net-allow allows only the addresses
// resolved from allowed names through the sandbox's resolver (plus allowed
// CIDRs), TCP and UDP alike; other names do not resolve.
func TestNetDomainAllowlist(t *testing.T) {
	requireTestNet(t)
	hA, hB, uA, uB := httpProbe(inetA), httpProbe(inetB), udpProbe(inetA, 7), udpProbe(inetB, 7)
	t.Run("allowed.test", func(t *testing.T) {
		dir := probeDir(t)
		logf := filepath.Join(dir, "net.log")
		res := netRun(t, dir, []string{"--net-allow", "allowed.test", "--net-log", logf},
			"dns allowed.test", "gai allowed.test", "http http://allowed.test/", hA, uA,
			hB, uB, "dns blocked.test", "gai blocked.test", "http http://blocked.test/", httpProbe(lanHost))
		wantAddrs(t, res, "dns allowed.test", inetA)
		wantAddrs(t, res, "gai allowed.test", inetA)
		wantBody(t, res, "http http://allowed.test/", bodyA)
		wantBody(t, res, hA, bodyA)
		wantBody(t, res, uA, echoA)
		wantRefused(t, res, hB)
		wantRefused(t, res, uB)
		wantNoAddrs(t, res, "dns blocked.test")
		wantRefused(t, res, "gai blocked.test")
		wantRefused(t, res, "http http://blocked.test/")
		wantRefused(t, res, httpProbe(lanHost))
		log := readNetLog(t, logf)
		wantLogged(t, log, "tcp", 80, inetB)
		wantLogged(t, log, "udp", 7, inetB)
		wantLogged(t, log, "tcp", 80, lanHost)
		wantNotLogged(t, log, inetA)
	})
	t.Run("*.allowed.test", func(t *testing.T) {
		dir := probeDir(t)
		res := netRun(t, dir, []string{"--net-allow", "*.allowed.test"},
			"gai www.allowed.test", "http http://www.allowed.test/", hA, "gai blocked.test", hB)
		wantAddrs(t, res, "gai www.allowed.test", inetA)
		wantBody(t, res, "http http://www.allowed.test/", bodyA)
		wantBody(t, res, hA, bodyA)
		wantRefused(t, res, "gai blocked.test")
		wantRefused(t, res, hB)
	})
	t.Run("allowed.test and a CIDR", func(t *testing.T) {
		dir := probeDir(t)
		res := netRun(t, dir, []string{"--net-allow", "allowed.test", "--net-allow", "203.0.113.0/24"},
			"gai allowed.test", hA, hB, uB, httpProbe(lanHost))
		wantAddrs(t, res, "gai allowed.test", inetA)
		wantBody(t, res, hA, bodyA)
		wantBody(t, res, hB, bodyB)
		wantBody(t, res, uB, echoB)
		wantRefused(t, res, httpProbe(lanHost))
	})
	t.Run("allowed6.test", func(t *testing.T) {
		requireTestNet6(t)
		dir := probeDir(t)
		logf := filepath.Join(dir, "net.log")
		hA6, hB6 := httpProbe("["+inetA6+"]"), httpProbe("["+inetB6+"]")
		res := netRun(t, dir, []string{"--net-allow", "allowed6.test", "--net-log", logf},
			"gai6 allowed6.test", "http http://allowed6.test/", hA6, udpProbe(inetA6, 7),
			hB6, udpProbe(inetB6, 7), "gai6 blocked6.test", "http http://blocked6.test/", hA, httpProbe("["+lanHost6+"]"))
		wantAddrs(t, res, "gai6 allowed6.test", inetA6)
		wantBody(t, res, "http http://allowed6.test/", bodyA6)
		wantBody(t, res, hA6, bodyA6)
		wantBody(t, res, udpProbe(inetA6, 7), echoA6)
		wantRefused(t, res, hB6)
		wantRefused(t, res, udpProbe(inetB6, 7))
		wantRefused(t, res, "gai6 blocked6.test")
		wantRefused(t, res, "http http://blocked6.test/")
		wantRefused(t, res, hA) // allowed6.test has no IPv4 address
		wantRefused(t, res, httpProbe("["+lanHost6+"]"))
		log := readNetLog(t, logf)
		wantLogged(t, log, "tcp", 80, inetB6)
		wantLogged(t, log, "udp", 7, inetB6)
		wantLogged(t, log, "tcp", 80, lanHost6)
		wantLogged(t, log, "tcp", 80, inetA)
		wantNotLogged(t, log, inetA6)
	})
	t.Run("udp/allowed.test", func(t *testing.T) {
		dir := probeDir(t)
		res := netRun(t, dir, []string{"--net-allow", "udp/allowed.test"}, "gai allowed.test", uA, hA)
		wantAddrs(t, res, "gai allowed.test", inetA)
		wantBody(t, res, uA, echoA)
		wantRefused(t, res, hA)
	})
}

// freePort: a TCP (or UDP) port free on 127.0.0.1 just now.
func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// netSandbox is a long-running sandbox (its output in a file).
type netSandbox struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed when it has exited
	outPath string
	before  map[int]string // netProcs() before it started
	checked bool           // noneLeft was checked after it exited
}

func (s *netSandbox) output() string {
	b, _ := os.ReadFile(s.outPath)
	return string(b)
}

func (s *netSandbox) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// startNetSandbox starts the binary with args in dir. At the end of the
// test it is killed (SIGKILL) if still running, and nothing of it may be
// left running then either.
func startNetSandbox(t *testing.T, dir string, args ...string) *netSandbox {
	t.Helper()
	s := &netSandbox{done: make(chan struct{}), outPath: filepath.Join(dir, "sandbox.out"), before: netProcs()}
	out, err := os.Create(s.outPath)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(sandboxBin, args...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = out, out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.done
		if !s.checked {
			noneLeft(t, s.before)
		}
	})
	return s
}

// stop: SIGTERM reaches the program, which it kills (exit 143); the sandbox
// exits within 20s and leaves nothing running.
func (s *netSandbox) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the sandbox did not exit within 20s of SIGTERM\n%s", s.output())
	}
	ws := s.cmd.ProcessState.Sys().(syscall.WaitStatus)
	code := ws.ExitStatus()
	if ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	if code != 128+15 || ws.Signaled() {
		t.Errorf("after SIGTERM: exit %d (signaled: %v), want exit status 143 (the program killed by SIGTERM)\n%s", code, ws.Signaled(), s.output())
	}
	s.checked = true
	noneLeft(t, s.before)
}

// TestNetPublish: -p 127.0.0.1:PORT:8000 reaches a server inside, TCP and
// UDP; the port is closed once the sandbox exits; a port below the host's
// ip_unprivileged_port_start fails with one clear line.
func TestNetPublish(t *testing.T) {
	requireUser(t)
	requireTun(t)
	t.Run("tcp", func(t *testing.T) {
		dir := workDir(t)
		os.WriteFile(filepath.Join(dir, "marker.txt"), []byte("published\n"), 0o644)
		port := freePort(t, "tcp")
		sbx := startNetSandbox(t, dir, "--net", "user", "--net-dns", testDNS,
			"-p", fmt.Sprintf("127.0.0.1:%d:8000", port), "--ro-bind", "/usr", "--",
			"/usr/bin/python3", "-m", "http.server", "8000", "--bind", "0.0.0.0")
		url := fmt.Sprintf("http://127.0.0.1:%d/marker.txt", port)
		var got string
		var err error
		for deadline := time.Now().Add(20 * time.Second); ; {
			if got, err = hostGet(url, 2*time.Second); err == nil && got == "published\n" {
				break
			}
			if sbx.exited() {
				t.Fatalf("the sandbox exited before %s answered (%q, %v):\n%s", url, got, err, sbx.output())
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not answer within 20s (last: %q, %v):\n%s", url, got, err, sbx.output())
			}
			time.Sleep(100 * time.Millisecond)
		}
		sbx.stop(t)
		if c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second); err == nil {
			c.Close()
			t.Errorf("127.0.0.1:%d still accepts connections after the sandbox exited", port)
		}
	})

	t.Run("udp", func(t *testing.T) {
		dir := workDir(t)
		echo := "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('0.0.0.0', 9000))\n" +
			"while True:\n    d, a = s.recvfrom(65535)\n    s.sendto(b'inside: ' + d, a)\n"
		os.WriteFile(filepath.Join(dir, "sbx-udp-echo.py"), []byte(echo), 0o644)
		port := freePort(t, "udp")
		sbx := startNetSandbox(t, dir, "--net", "user", "--net-dns", testDNS,
			"-p", fmt.Sprintf("127.0.0.1:%d:9000/udp", port), "--ro-bind", "/usr", "--",
			"/usr/bin/python3", "sbx-udp-echo.py")
		c, err := net.Dial("udp4", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		buf := make([]byte, 100)
		var got string
		for deadline := time.Now().Add(20 * time.Second); got == ""; {
			c.Write([]byte("hi"))
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			n, err := c.Read(buf)
			if err == nil {
				got = string(buf[:n])
				break
			}
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				time.Sleep(200 * time.Millisecond) // refused: nothing listens yet
			}
			if sbx.exited() {
				t.Fatalf("the sandbox exited before 127.0.0.1:%d/udp answered:\n%s", port, sbx.output())
			}
			if time.Now().After(deadline) {
				t.Fatalf("127.0.0.1:%d/udp did not answer within 20s:\n%s", port, sbx.output())
			}
		}
		if got != "inside: hi" {
			t.Errorf("127.0.0.1:%d/udp answered %q, want %q", port, got, "inside: hi")
		}
		sbx.stop(t)
	})

	t.Run("privileged port", func(t *testing.T) {
		b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
		if err != nil {
			t.Skipf("cannot read net.ipv4.ip_unprivileged_port_start: %v", err)
		}
		start, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if start <= 80 {
			t.Skipf("this host lets every user bind port 80 (net.ipv4.ip_unprivileged_port_start=%d)", start)
		}
		before := netProcs()
		r := netExec(t, "", 30*time.Second, sandboxBin, "--net", "user", "--net-dns", testDNS, "-p", "127.0.0.1:80:8000", "--ro-bind", "/usr", "--", "true")
		noneLeft(t, before)
		mustCode(t, r, 125)
		first, _, _ := strings.Cut(r.stderr, "\n")
		lower := strings.ToLower(first)
		if r.stdout != "" || !strings.HasPrefix(first, "sandbox: ") || !strings.Contains(first, ":80") ||
			!(strings.Contains(lower, "permission") || strings.Contains(lower, "privileged")) {
			t.Errorf("want a first line 'sandbox: ' naming port 80 and the lack of permission (and nothing run), got %s", r)
		}
	})
}

// TestNetBackends: slirp4netns and pasta, when installed (scripts/test
// installs them), carry a plain HTTP GET; netstack, the default, by name.
// The policy options (--net-dns among them) are the built-in stack's only.
func TestNetBackends(t *testing.T) {
	requireTestNet(t)
	for _, c := range []struct{ backend, cmd string }{
		{"netstack", ""},
		{"slirp4netns", "slirp4netns"},
		{"pasta", "pasta"},
	} {
		t.Run(c.backend, func(t *testing.T) {
			if c.cmd != "" {
				requireHost(t, haveCmd(c.cmd), c.cmd+" is not installed (apt-get install "+map[string]string{"slirp4netns": "slirp4netns", "pasta": "passt"}[c.cmd]+")")
			}
			dir := probeDir(t)
			// No --net-dns: the policy options are the built-in stack's
			// alone; the probe uses no name, so no DNS query leaves.
			res := netRunBase(t, dir, []string{"--net", "user"}, []string{"--net-backend", c.backend}, httpProbe(inetA))
			wantBody(t, res, httpProbe(inetA), bodyA)
		})
	}
}

// TestNetFlagErrors: bad networking flags fail before anything runs, with
// one line naming what is wrong.
func TestNetFlagErrors(t *testing.T) {
	requireUser(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--net", "bogus"}, "bogus"},
		{[]string{"--net", "user", "--net-backend", "bogus"}, "bogus"},
		{[]string{"--net", "user", "-p", "99999:80"}, "99999"},
		{[]string{"--net", "user", "-p", "127.0.0.1:8080:80/sctp"}, "sctp"},
		{[]string{"--net", "user", "--net-allow", "300.1.2.3/8"}, "300.1.2.3/8"},
		{[]string{"--net", "user", "--net-deny", "tcp/198.51.100.0/33"}, "198.51.100.0/33"},
		{[]string{"--net", "user", "--net-dns", "not-an-ip"}, "not-an-ip"},
	} {
		args := c.args
		if args[len(args)-2] != "--net-dns" {
			args = concat(args, []string{"--net-dns", testDNS})
		}
		before := netProcs()
		r := netExec(t, "", 30*time.Second, sandboxBin, concat(args, []string{"--ro-bind", "/usr", "--", "echo", "ran"})...)
		noneLeft(t, before)
		if r.code != 125 || r.stdout != "" {
			t.Errorf("%q: want exit 125 and nothing run, got %s", c.args, r)
			continue
		}
		msg := strings.TrimSpace(r.stderr)
		if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "sandbox: ") || !strings.Contains(msg, c.want) {
			t.Errorf("%q: want one 'sandbox: ' line naming %q, got %q", c.args, c.want, r.stderr)
		}
	}
}

// TestNetHelper: --net user's stack runs in the network helper, a child of
// the sandbox's parent named sandbox-net, in a process group of its own
// (a terminal's Ctrl-C or Ctrl-Z is for the program) and confined: no
// new privileges, a seccomp filter, and (Landlock, checked by secure's
// tests) no filesystem.
// It is gone once the sandbox has exited.
func TestNetHelper(t *testing.T) {
	requireUser(t)
	requireTun(t)
	dir := workDir(t)
	sbx := startNetSandbox(t, dir, "--net", "user", "--net-dns", testDNS, "--ro-bind", "/usr", "--",
		"/usr/bin/sleep", "60")
	parent := sbx.cmd.Process.Pid
	var helper int
	var status string
	for deadline := time.Now().Add(20 * time.Second); helper == 0; time.Sleep(50 * time.Millisecond) {
		for pid, what := range netProcs() {
			st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if strings.HasPrefix(what, "sandbox-net:") && strings.Contains(string(st), fmt.Sprintf("\nPPid:\t%d\n", parent)) {
				helper, status = pid, string(st)
			}
		}
		// NoNewPrivs and a seccomp filter come with the confinement,
		// once the stack runs.
		if helper != 0 && (!strings.Contains(status, "\nNoNewPrivs:\t1\n") || !strings.Contains(status, "\nSeccomp:\t2\n")) {
			helper = 0
		}
		if helper == 0 && (time.Now().After(deadline) || sbx.exited()) {
			t.Fatalf("no confined sandbox-net child of the sandbox (pid %d) within 20s; processes: %v\n%s", parent, netProcs(), sbx.output())
		}
	}
	pgid, err := syscall.Getpgid(helper)
	ppgid, perr := syscall.Getpgid(parent)
	if err != nil || perr != nil || pgid == ppgid || pgid != helper {
		t.Errorf("helper %d in process group %d (%v), the sandbox %d in %d (%v): want a group of its own", helper, pgid, err, parent, ppgid, perr)
	}
	sbx.stop(t)
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/status", helper)); err == nil {
		if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", helper)); !strings.Contains(string(st), ") Z ") {
			t.Errorf("helper %d still there after the sandbox's exit: %s", helper, st)
		}
	}
}

// TestNetUserStarts: 50 --net user sandboxes in a row all start. The network
// helper's start once failed in about 1 of 50 (its memfd named by a number
// Go's fork could reuse for its status pipe: EACCES), in both id mappings.
func TestNetUserStarts(t *testing.T) {
	requireUser(t)
	requireTun(t)
	dir := workDir(t)
	before := netProcs()
	for i := range 50 {
		ids := []string{"--id-map", "single"}
		if i%2 == 1 {
			ids = nil // subordinate ranges when the user has them
		}
		r := runWith(t, runOpts{dir: dir}, sandboxBin, concat(ids, []string{"--net", "user", "--net-dns", testDNS, "--ro-bind", "/usr", "--", "/usr/bin/true"})...)
		if r.code != 0 {
			t.Fatalf("start %d: %s", i, r)
		}
	}
	noneLeft(t, before)
}
