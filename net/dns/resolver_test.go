package dns

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"sandbox/net/policy"
)

var dnsIP = netip.MustParseAddr("10.0.2.3")

func newPolicy(t *testing.T, o policy.Options) *policy.Policy {
	t.Helper()
	o.GatewayIP = netip.MustParseAddr("10.0.2.2")
	o.DNSIP = dnsIP
	p, err := policy.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newResolver(t *testing.T, p *policy.Policy, ups ...netip.AddrPort) *Resolver {
	t.Helper()
	return New(p, ups, t.Logf)
}

type queryOpts struct {
	id   uint16
	edns bool
}

func buildTestQuery(t testing.TB, name string, typ dnsmessage.Type, o queryOpts) []byte {
	t.Helper()
	m := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: o.id, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET}},
	}
	if o.edns {
		var rh dnsmessage.ResourceHeader
		rh.SetEDNS0(1232, dnsmessage.RCodeSuccess, false)
		m.Additionals = []dnsmessage.Resource{{Header: rh, Body: &dnsmessage.OPTResource{}}}
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ask(t *testing.T, r *Resolver, name string, typ dnsmessage.Type, o queryOpts) dnsmessage.Message {
	t.Helper()
	resp, err := r.Handle(buildTestQuery(t, name, typ, o))
	if err != nil {
		t.Fatalf("Handle(%s %s): %v", name, typ, err)
	}
	var m dnsmessage.Message
	if err := m.Unpack(resp); err != nil {
		t.Fatalf("Handle(%s %s) answer does not parse: %v", name, typ, err)
	}
	if m.Header.ID != o.id || !m.Header.Response {
		t.Errorf("Handle(%s %s) header = %+v, want a response with ID %d", name, typ, m.Header, o.id)
	}
	return m
}

func answerAddrs(m dnsmessage.Message) []netip.Addr {
	var out []netip.Addr
	for _, rr := range m.Answers {
		switch b := rr.Body.(type) {
		case *dnsmessage.AResource:
			out = append(out, netip.AddrFrom4(b.A))
		case *dnsmessage.AAAAResource:
			out = append(out, netip.AddrFrom16(b.AAAA))
		}
	}
	return out
}

func TestForward(t *testing.T) {
	up := newFakeUpstream(t)
	r := newResolver(t, newPolicy(t, policy.Options{}), up.addr)
	m := ask(t, r, "www.example.com.", dnsmessage.TypeA, queryOpts{id: 4242})
	if m.RCode != dnsmessage.RCodeSuccess || len(m.Answers) != 1 || answerAddrs(m)[0] != addrWWW {
		t.Errorf("answer = %v %v, want %v", m.RCode, answerAddrs(m), addrWWW)
	}
	m = ask(t, r, "WWW.Example.Com.", dnsmessage.TypeAAAA, queryOpts{id: 7})
	if got := answerAddrs(m); len(got) != 1 || got[0] != addrWWW6 {
		t.Errorf("AAAA answer = %v", got)
	}
	m = ask(t, r, "nonexistent.test.", dnsmessage.TypeA, queryOpts{id: 8})
	if m.RCode != dnsmessage.RCodeNameError {
		t.Errorf("rcode = %v, want NXDOMAIN passed through", m.RCode)
	}
	want := []string{"udp www.example.com. TypeA", "udp WWW.Example.Com. TypeAAAA", "udp nonexistent.test. TypeA"}
	if got := up.seen(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("upstream saw %q, want %q", got, want)
	}
}

func TestForwardSkipsStrayDatagrams(t *testing.T) {
	up := newFakeUpstream(t, func(f *fakeUpstream) { f.wrongFirst = true })
	r := newResolver(t, newPolicy(t, policy.Options{}), up.addr)
	m := ask(t, r, "www.example.com.", dnsmessage.TypeA, queryOpts{id: 1})
	if got := answerAddrs(m); len(got) != 1 || got[0] != addrWWW {
		t.Errorf("answer = %v", got)
	}
}

func TestRefusedNamesNeverLeave(t *testing.T) {
	var log bytes.Buffer
	up := newFakeUpstream(t)
	p := newPolicy(t, policy.Options{Allow: []string{"*.example.com"}, Deny: []string{"secret.example.com"}, Log: &log})
	r := newResolver(t, p, up.addr)
	for _, name := range []string{"secret.example.com.", "SECRET.example.com.", "other.test.", "example.com."} {
		for _, edns := range []bool{false, true} {
			m := ask(t, r, name, dnsmessage.TypeA, queryOpts{id: 99, edns: edns})
			if m.RCode != dnsmessage.RCodeRefused {
				t.Errorf("%s: rcode = %v, want REFUSED", name, m.RCode)
			}
			if len(m.Questions) != 1 || len(m.Answers) != 0 {
				t.Errorf("%s: answer = %+v", name, m)
			}
			if edns {
				if ede := extendedError(m); !strings.HasPrefix(ede, "18 ") {
					t.Errorf("%s: extended error = %q, want 18 (Prohibited)", name, ede)
				}
			} else if len(m.Additionals) != 0 {
				t.Errorf("%s: an OPT record in the answer to a query without one", name)
			}
		}
	}
	if got := up.seen(); len(got) != 0 {
		t.Errorf("upstream saw %q, want nothing", got)
	}
	// Each refusal is logged as a JSON line.
	first, _, _ := strings.Cut(log.String(), "\n")
	var rec map[string]any
	if err := json.Unmarshal([]byte(first), &rec); err != nil {
		t.Fatalf("log line %q: %v", first, err)
	}
	if rec["proto"] != "dns" || rec["rule"] != "--net-deny secret.example.com" {
		t.Errorf("log line = %s", first)
	}
}

func extendedError(m dnsmessage.Message) string {
	for _, rr := range m.Additionals {
		if opt, ok := rr.Body.(*dnsmessage.OPTResource); ok {
			for _, o := range opt.Options {
				if o.Code == optionEDE && len(o.Data) >= 2 {
					return fmt.Sprintf("%d %s", int(o.Data[0])<<8|int(o.Data[1]), o.Data[2:])
				}
			}
		}
	}
	return ""
}

func TestLearn(t *testing.T) {
	up := newFakeUpstream(t)
	p := newPolicy(t, policy.Options{Allow: []string{"www.example.com", "alias.example.com", "loop.example.com"}})
	r := newResolver(t, p, up.addr)
	refused := func(a netip.Addr) bool { return p.Decide("tcp", netip.AddrPortFrom(a, 443)) != nil }

	for _, a := range []netip.Addr{addrWWW, addrWWW6, addrCDN, addrHint, addrJunk} {
		if !refused(a) {
			t.Fatalf("%v allowed before any answer", a)
		}
	}
	ask(t, r, "www.example.com.", dnsmessage.TypeA, queryOpts{})
	ask(t, r, "www.example.com.", dnsmessage.TypeAAAA, queryOpts{})
	ask(t, r, "www.example.com.", dnsmessage.TypeHTTPS, queryOpts{})
	m := ask(t, r, "alias.example.com.", dnsmessage.TypeA, queryOpts{})
	if len(m.Answers) != 4 {
		t.Errorf("the CNAME answer lost records: %d, want 4", len(m.Answers))
	}
	ask(t, r, "loop.example.com.", dnsmessage.TypeA, queryOpts{})
	for _, a := range []netip.Addr{addrWWW, addrWWW6, addrHint, addrCDN} {
		if refused(a) {
			t.Errorf("%v refused after its name's answer", a)
		}
		if err := p.Decide("udp", netip.AddrPortFrom(a, 443)); err != nil {
			t.Errorf("QUIC to %v: %v", a, err)
		}
	}
	if !refused(addrJunk) {
		t.Errorf("%v, owned by a name off the CNAME chain, was learned", addrJunk)
	}
}

func TestCNAMEToDeniedName(t *testing.T) {
	up := newFakeUpstream(t)
	p := newPolicy(t, policy.Options{Deny: []string{"*.tracker.test"}})
	r := newResolver(t, p, up.addr)
	m := ask(t, r, "cloaked.example.com.", dnsmessage.TypeA, queryOpts{edns: true})
	if m.RCode != dnsmessage.RCodeRefused || len(m.Answers) != 0 {
		t.Errorf("answer = %v with %d records, want REFUSED and none", m.RCode, len(m.Answers))
	}
	if ede := extendedError(m); !strings.Contains(ede, "--net-deny *.tracker.test") {
		t.Errorf("extended error = %q", ede)
	}
}

func TestTruncatedFallsBackToTCP(t *testing.T) {
	up := newFakeUpstream(t, func(f *fakeUpstream) { f.truncateUDP = 10 })
	p := newPolicy(t, policy.Options{Allow: []string{"big.example.com"}})
	r := newResolver(t, p, up.addr)
	m := ask(t, r, "big.example.com.", dnsmessage.TypeA, queryOpts{id: 77})
	if len(m.Answers) != 40 || m.Truncated {
		t.Errorf("answer has %d records (truncated %v), want 40", len(m.Answers), m.Truncated)
	}
	want := []string{"udp big.example.com. TypeA", "tcp big.example.com. TypeA"}
	if got := up.seen(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("upstream saw %q, want %q", got, want)
	}
	if err := p.Decide("tcp", netip.MustParseAddrPort("198.51.100.40:443")); err != nil {
		t.Errorf("an address of the TCP answer was not learned: %v", err)
	}
}

func TestUpstreamDown(t *testing.T) {
	r := newResolver(t, newPolicy(t, policy.Options{}), closedPort(t), closedPort(t))
	start := time.Now()
	m := ask(t, r, "www.example.com.", dnsmessage.TypeA, queryOpts{id: 5, edns: true})
	if m.RCode != dnsmessage.RCodeServerFailure {
		t.Errorf("rcode = %v, want SERVFAIL", m.RCode)
	}
	if ede := extendedError(m); !strings.HasPrefix(ede, "23 ") {
		t.Errorf("extended error = %q, want 23 (Network Error)", ede)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("SERVFAIL took %v with every server refusing the port", d)
	}
}

func TestUpstreamSilent(t *testing.T) {
	r := newResolver(t, newPolicy(t, policy.Options{}), silent(t))
	r.tryTimeout, r.budget = 100*time.Millisecond, 300*time.Millisecond
	start := time.Now()
	m := ask(t, r, "www.example.com.", dnsmessage.TypeA, queryOpts{})
	if m.RCode != dnsmessage.RCodeServerFailure {
		t.Errorf("rcode = %v, want SERVFAIL", m.RCode)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("SERVFAIL took %v, budget 300ms", d)
	}
	if tryTimeout*rounds > forwardBudget+tryTimeout || forwardBudget >= 5*time.Second {
		t.Errorf("budget %v must end before a stub's 5 s retry", forwardBudget)
	}
}

func TestNextServer(t *testing.T) {
	bad := newFakeUpstream(t, func(f *fakeUpstream) {
		f.answer = func(dnsmessage.Question) ([]dnsmessage.Resource, dnsmessage.RCode) {
			return nil, dnsmessage.RCodeServerFailure
		}
	})
	good := newFakeUpstream(t)
	r := newResolver(t, newPolicy(t, policy.Options{}), closedPort(t), bad.addr, good.addr)
	m := ask(t, r, "www.example.com.", dnsmessage.TypeA, queryOpts{})
	if got := answerAddrs(m); len(got) != 1 || got[0] != addrWWW {
		t.Errorf("answer = %v %v, want the good server's", m.RCode, got)
	}
	// With only failing servers, their SERVFAIL is the answer.
	r = newResolver(t, newPolicy(t, policy.Options{}), bad.addr)
	if m := ask(t, r, "www.example.com.", dnsmessage.TypeA, queryOpts{}); m.RCode != dnsmessage.RCodeServerFailure {
		t.Errorf("rcode = %v, want SERVFAIL", m.RCode)
	}
}

func TestMalformed(t *testing.T) {
	up := newFakeUpstream(t)
	r := newResolver(t, newPolicy(t, policy.Options{}), up.addr)

	if _, err := r.Handle([]byte{1, 2, 3}); err == nil {
		t.Error("Handle(3 bytes) = nil error")
	}
	resp := buildTestQuery(t, "www.example.com.", dnsmessage.TypeA, queryOpts{})
	resp[2] |= 0x80 // QR: a response
	if _, err := r.Handle(resp); err == nil {
		t.Error("Handle(a response) = nil error, want no answer (no loops)")
	}

	rcodeOf := func(msg []byte) dnsmessage.RCode {
		t.Helper()
		out, err := r.Handle(msg)
		if err != nil {
			t.Fatalf("Handle: %v", err)
		}
		var p dnsmessage.Parser
		h, err := p.Start(out)
		if err != nil {
			t.Fatal(err)
		}
		if h.ID != 0x1234 {
			t.Errorf("ID = %#x, want 0x1234", h.ID)
		}
		return h.RCode
	}
	two := dnsmessage.Message{Header: dnsmessage.Header{ID: 0x1234}, Questions: []dnsmessage.Question{
		{Name: dnsmessage.MustNewName("a.test."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET},
		{Name: dnsmessage.MustNewName("b.test."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET},
	}}
	msg, _ := two.Pack()
	if rc := rcodeOf(msg); rc != dnsmessage.RCodeFormatError {
		t.Errorf("two questions: %v, want FORMERR", rc)
	}
	none := dnsmessage.Message{Header: dnsmessage.Header{ID: 0x1234}}
	msg, _ = none.Pack()
	if rc := rcodeOf(msg); rc != dnsmessage.RCodeFormatError {
		t.Errorf("no question: %v, want FORMERR", rc)
	}
	msg = buildTestQuery(t, "www.example.com.", dnsmessage.TypeA, queryOpts{id: 0x1234})
	if rc := rcodeOf(msg[:len(msg)-2]); rc != dnsmessage.RCodeFormatError {
		t.Errorf("cut question: %v, want FORMERR", rc)
	}
	msg = buildTestQuery(t, "www.example.com.", dnsmessage.TypeA, queryOpts{id: 0x1234})
	msg[2] |= 2 << 3 // opcode STATUS
	if rc := rcodeOf(msg); rc != dnsmessage.RCodeNotImplemented {
		t.Errorf("opcode STATUS: %v, want NOTIMP", rc)
	}
	msg = buildTestQuery(t, "example.com.", dnsmessage.TypeAXFR, queryOpts{id: 0x1234})
	if rc := rcodeOf(msg); rc != dnsmessage.RCodeRefused {
		t.Errorf("AXFR: %v, want REFUSED", rc)
	}
	chaos := dnsmessage.Message{Header: dnsmessage.Header{ID: 0x1234}, Questions: []dnsmessage.Question{
		{Name: dnsmessage.MustNewName("version.bind."), Type: dnsmessage.TypeTXT, Class: dnsmessage.ClassCHAOS},
	}}
	msg, _ = chaos.Pack()
	if rc := rcodeOf(msg); rc != dnsmessage.RCodeRefused {
		t.Errorf("class CHAOS: %v, want REFUSED", rc)
	}
	// A wire label holding a '.' at its end: the name as text has an
	// empty label and cannot be forwarded as checked.
	msg = append(binary16(0x1234), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0)
	msg = append(msg, 2, 'a', '.', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1)
	if rc := rcodeOf(msg); rc != dnsmessage.RCodeFormatError {
		t.Errorf("label with a dot: %v, want FORMERR", rc)
	}
	if got := up.seen(); len(got) != 0 {
		t.Errorf("upstream saw %q", got)
	}
}

func binary16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

func TestDotInLabelIsCheckedAsForwarded(t *testing.T) {
	// The wire name ["secret.example", "com"] must not reach upstream as
	// something other than what was checked: dnsmessage refuses such a
	// label (FORMERR); were it read as secret.example.com, that name would
	// be checked and refused.
	up := newFakeUpstream(t)
	p := newPolicy(t, policy.Options{Deny: []string{"secret.example.com"}})
	r := newResolver(t, p, up.addr)
	msg := append(binary16(0x1234), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0)
	msg = append(msg, 14)
	msg = append(msg, "secret.example"...)
	msg = append(msg, 3, 'c', 'o', 'm', 0, 0, 1, 0, 1)
	out, err := r.Handle(msg)
	if err != nil {
		t.Fatal(err)
	}
	if rc := dnsmessage.RCode(out[3] & 0xf); rc != dnsmessage.RCodeRefused && rc != dnsmessage.RCodeFormatError {
		t.Errorf("rcode = %v, want REFUSED or FORMERR", rc)
	}
	if got := up.seen(); len(got) != 0 {
		t.Errorf("upstream saw %q", got)
	}
}

func TestNoUpstreams(t *testing.T) {
	r := New(newPolicy(t, policy.Options{}), nil, nil)
	m := ask(t, r, "www.example.com.", dnsmessage.TypeA, queryOpts{})
	if m.RCode != dnsmessage.RCodeServerFailure {
		t.Errorf("rcode = %v, want SERVFAIL", m.RCode)
	}
}

func TestUpstreams(t *testing.T) {
	tests := []struct {
		name, conf string
		want       []string
		wantErr    string
	}{
		{"plain", "nameserver 192.0.2.53\n", []string{"192.0.2.53:53"}, ""},
		{"several and comments", "# generated\n; also a comment\nsearch example.com\nnameserver 127.0.0.53\n#nameserver 192.0.2.1\nnameserver 2001:db8::53 # trailing\noptions edns0 trust-ad\n",
			[]string{"127.0.0.53:53", "[2001:db8::53]:53"}, ""},
		{"zone", "nameserver fe80::1%eth0\n", []string{"[fe80::1%eth0]:53"}, ""},
		{"tabs, no final newline", "nameserver\t192.0.2.1", []string{"192.0.2.1:53"}, ""},
		{"bad skipped", "nameserver bogus\nnameserver 192.0.2.2\n", []string{"192.0.2.2:53"}, ""},
		{"none", "search example.com\n", nil, "no nameserver"},
		{"empty", "", nil, "no nameserver"},
		{"a path", "/etc/resolv.conf", nil, "not its path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Upstreams(tt.conf)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Upstreams() = %v, %v, want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, ap := range got {
				s = append(s, ap.String())
			}
			if strings.Join(s, " ") != strings.Join(tt.want, " ") {
				t.Errorf("Upstreams() = %q, want %q", s, tt.want)
			}
		})
	}
}

// TestSetDialUDP: with a dialer set, the upstream queries over UDP go
// through it (the helper hands in the stack's own sockets).
func TestSetDialUDP(t *testing.T) {
	up := newFakeUpstream(t)
	r := newResolver(t, newPolicy(t, policy.Options{}), up.addr)
	var dialled atomic.Int32
	r.SetDialUDP(func(dst netip.AddrPort) (UDPConn, error) {
		dialled.Add(1)
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
		if err != nil {
			return nil, err
		}
		return c, nil
	})
	m := ask(t, r, "www.example.com.", dnsmessage.TypeA, queryOpts{id: 9})
	if got := answerAddrs(m); len(got) != 1 || got[0] != addrWWW {
		t.Errorf("answer = %v", got)
	}
	if dialled.Load() != 1 {
		t.Errorf("the dialer was used %d times, want 1", dialled.Load())
	}
	r.SetDialUDP(func(netip.AddrPort) (UDPConn, error) { return nil, errors.New("no sockets") })
	if m := ask(t, r, "www.example.com.", dnsmessage.TypeA, queryOpts{id: 10}); m.RCode != dnsmessage.RCodeServerFailure {
		t.Errorf("rcode with a failing dialer = %v, want SERVFAIL", m.RCode)
	}
}
