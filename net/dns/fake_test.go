package dns

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// fakeUpstream is a DNS server on 127.0.0.1, UDP and TCP on one port,
// answering from a fixed zone.
type fakeUpstream struct {
	t    testing.TB
	addr netip.AddrPort
	udp  *net.UDPConn
	tcp  *net.TCPListener
	wg   sync.WaitGroup

	mu      sync.Mutex
	queries []string // "udp NAME TYPE" or "tcp NAME TYPE", in arrival order

	// Set before serving, read-only after.
	//
	// answer returns the answer records and rcode for a question; nil
	// means the zone below.
	answer func(q dnsmessage.Question) ([]dnsmessage.Resource, dnsmessage.RCode)
	// truncateUDP makes every UDP answer with more than this many
	// records an empty one with TC set (0: never).
	truncateUDP int
	// wrongFirst sends a datagram with the wrong ID before each UDP answer.
	wrongFirst bool
}

// newFakeUpstream starts a fake upstream, set up by the configure
// functions before it serves.
func newFakeUpstream(t testing.TB, configure ...func(*fakeUpstream)) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{t: t}
	for _, c := range configure {
		c(f)
	}
	// One port for both transports: take a free UDP port, then try TCP on
	// it; another process may hold it, so retry.
	for try := 0; ; try++ {
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			u.Close()
			if try < 20 {
				continue
			}
			t.Fatal(err)
		}
		f.udp, f.tcp = u, l
		f.addr = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
		break
	}
	f.wg.Add(2)
	go f.serveUDP()
	go f.serveTCP()
	t.Cleanup(f.close)
	return f
}

func (f *fakeUpstream) close() {
	f.udp.Close()
	f.tcp.Close()
	f.wg.Wait()
}

func (f *fakeUpstream) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.queries...)
}

func (f *fakeUpstream) serveUDP() {
	defer f.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := f.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		resp, id, err := f.respond(buf[:n], "udp")
		if err != nil {
			continue
		}
		if f.wrongFirst {
			wrong := append([]byte(nil), resp...)
			binary.BigEndian.PutUint16(wrong, id+1)
			f.udp.WriteToUDPAddrPort(wrong, from)
		}
		f.udp.WriteToUDPAddrPort(resp, from)
	}
}

func (f *fakeUpstream) serveTCP() {
	defer f.wg.Done()
	for {
		c, err := f.tcp.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer c.Close()
			var n uint16
			if binary.Read(c, binary.BigEndian, &n) != nil {
				return
			}
			msg := make([]byte, n)
			if _, err := io.ReadFull(c, msg); err != nil {
				return
			}
			resp, _, err := f.respond(msg, "tcp")
			if err != nil {
				return
			}
			c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(resp))))
			c.Write(resp)
		}()
	}
}

// respond answers one query.
func (f *fakeUpstream) respond(msg []byte, transport string) ([]byte, uint16, error) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return nil, 0, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, 0, err
	}
	f.mu.Lock()
	f.queries = append(f.queries, transport+" "+q.Name.String()+" "+q.Type.String())
	f.mu.Unlock()
	answer, truncateUDP := f.answer, f.truncateUDP
	if answer == nil {
		answer = zone
	}
	rrs, rcode := answer(q)
	rh := dnsmessage.Header{ID: h.ID, Response: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true, RCode: rcode}
	if transport == "udp" && truncateUDP > 0 && len(rrs) > truncateUDP {
		rh.Truncated, rrs = true, nil
	}
	m := dnsmessage.Message{Header: rh, Questions: []dnsmessage.Question{q}, Answers: rrs}
	resp, err := m.Pack()
	return resp, h.ID, err
}

var (
	addrWWW     = netip.MustParseAddr("203.0.113.7")
	addrWWW6    = netip.MustParseAddr("2001:db8::7")
	addrCDN     = netip.MustParseAddr("203.0.113.9")
	addrHint    = netip.MustParseAddr("203.0.113.10")
	addrTracker = netip.MustParseAddr("203.0.113.66")
	addrJunk    = netip.MustParseAddr("203.0.113.99")
)

// zone is the fake upstream's default data.
func zone(q dnsmessage.Question) ([]dnsmessage.Resource, dnsmessage.RCode) {
	name := strings.ToLower(q.Name.String())
	switch {
	case name == "www.example.com." && q.Type == dnsmessage.TypeA:
		return []dnsmessage.Resource{a(name, addrWWW, 300)}, dnsmessage.RCodeSuccess
	case name == "www.example.com." && q.Type == dnsmessage.TypeAAAA:
		return []dnsmessage.Resource{aaaa(name, addrWWW6, 300)}, dnsmessage.RCodeSuccess
	case name == "www.example.com." && q.Type == dnsmessage.TypeHTTPS:
		return []dnsmessage.Resource{https(name, addrHint, 300)}, dnsmessage.RCodeSuccess
	case name == "alias.example.com.":
		// A chain through a CDN name, plus a record of an owner off the
		// chain that must not be learned.
		return []dnsmessage.Resource{
			cname(name, "edge.cdn.test.", 600),
			cname("edge.cdn.test.", "e1.cdn.test.", 900),
			a("e1.cdn.test.", addrCDN, 60),
			a("unrelated.test.", addrJunk, 600),
		}, dnsmessage.RCodeSuccess
	case name == "cloaked.example.com.":
		return []dnsmessage.Resource{
			cname(name, "x.tracker.test.", 600),
			a("x.tracker.test.", addrTracker, 600),
		}, dnsmessage.RCodeSuccess
	case name == "big.example.com.":
		var rrs []dnsmessage.Resource
		for i := range 40 {
			rrs = append(rrs, a(name, netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)}), 300))
		}
		return rrs, dnsmessage.RCodeSuccess
	case name == "loop.example.com.":
		return []dnsmessage.Resource{cname(name, "loop2.example.com.", 60), cname("loop2.example.com.", name, 60)}, dnsmessage.RCodeSuccess
	case strings.HasSuffix(name, "example.com."):
		return nil, dnsmessage.RCodeSuccess
	}
	return nil, dnsmessage.RCodeNameError
}

func hdr(name string, typ dnsmessage.Type, ttl uint32) dnsmessage.ResourceHeader {
	return dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET, TTL: ttl}
}

func a(name string, addr netip.Addr, ttl uint32) dnsmessage.Resource {
	return dnsmessage.Resource{Header: hdr(name, dnsmessage.TypeA, ttl), Body: &dnsmessage.AResource{A: addr.As4()}}
}

func aaaa(name string, addr netip.Addr, ttl uint32) dnsmessage.Resource {
	return dnsmessage.Resource{Header: hdr(name, dnsmessage.TypeAAAA, ttl), Body: &dnsmessage.AAAAResource{AAAA: addr.As16()}}
}

func cname(name, target string, ttl uint32) dnsmessage.Resource {
	return dnsmessage.Resource{Header: hdr(name, dnsmessage.TypeCNAME, ttl), Body: &dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(target)}}
}

func https(name string, hint netip.Addr, ttl uint32) dnsmessage.Resource {
	v4 := hint.As4()
	return dnsmessage.Resource{Header: hdr(name, dnsmessage.TypeHTTPS, ttl), Body: &dnsmessage.HTTPSResource{SVCBResource: dnsmessage.SVCBResource{
		Priority: 1,
		Target:   dnsmessage.MustNewName("."),
		Params:   []dnsmessage.SVCParam{{Key: dnsmessage.SVCParamIPv4Hint, Value: v4[:]}},
	}}}
}

// closedPort returns a UDP address on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) netip.AddrPort {
	t.Helper()
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ap := u.LocalAddr().(*net.UDPAddr).AddrPort()
	u.Close()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// silent returns a UDP address on 127.0.0.1 that reads queries and never
// answers.
func silent(t *testing.T) netip.AddrPort {
	t.Helper()
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	ap := u.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
