package policy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var (
	gateway  = netip.MustParseAddr("10.0.2.2")
	dnsIP    = netip.MustParseAddr("10.0.2.3")
	gateway6 = netip.MustParseAddr("fd73:6278::2")
	dnsIP6   = netip.MustParseAddr("fd73:6278::3")
	hostAddr = netip.MustParseAddr("192.168.1.5")
	hostPub  = netip.MustParseAddr("198.51.100.9")
	hostV6   = netip.MustParseAddr("2001:db8:5::9")
)

// fakeClock is a settable Options.Now.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newPolicy(t *testing.T, o Options) (*Policy, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)}
	o.GatewayIP, o.DNSIP, o.GatewayIP6, o.DNSIP6, o.Now = gateway, dnsIP, gateway6, dnsIP6, clock.now
	o.HostAddrs = append(o.HostAddrs, hostAddr, hostPub, hostV6)
	p, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p, clock
}

type flow struct {
	proto string
	dst   string
	want  string // "" for allowed, else a part of the Refused rule
}

func checkFlows(t *testing.T, p *Policy, flows []flow) {
	t.Helper()
	for _, f := range flows {
		dst := netip.MustParseAddrPort(f.dst)
		err := p.Decide(f.proto, dst)
		switch {
		case f.want == "" && err != nil:
			t.Errorf("Decide(%s, %s) = %v, want allowed", f.proto, f.dst, err)
		case f.want != "" && err == nil:
			t.Errorf("Decide(%s, %s) = allowed, want refused by %q", f.proto, f.dst, f.want)
		case f.want != "":
			var r *Refused
			if !errors.As(err, &r) {
				t.Errorf("Decide(%s, %s) = %T, want *Refused", f.proto, f.dst, err)
			} else if !strings.Contains(r.Rule, f.want) {
				t.Errorf("Decide(%s, %s) refused by %q, want %q", f.proto, f.dst, r.Rule, f.want)
			}
		}
	}
}

func TestDefaultRanges(t *testing.T) {
	p, _ := newPolicy(t, Options{})
	checkFlows(t, p, []flow{
		{"tcp", "93.184.215.14:443", ""},
		{"udp", "[2606:4700::1111]:443", ""},
		{"tcp", "203.0.113.7:80", ""}, // documentation ranges are not refused
		{"tcp", "127.0.0.1:80", "default rule loopback 127.0.0.0/8"},
		{"tcp", "127.255.0.1:80", "loopback 127.0.0.0/8"},
		{"tcp", "[::1]:80", "loopback ::1"},
		{"tcp", "0.0.0.0:80", "unspecified address 0.0.0.0"},
		{"tcp", "[::]:80", "unspecified address ::"},
		{"tcp", "0.1.2.3:80", "this-network range 0.0.0.0/8"},
		{"tcp", "169.254.169.254:80", "link-local 169.254.0.0/16"},
		{"tcp", "[fe80::1]:80", "link-local fe80::/10"},
		{"tcp", "10.1.2.3:80", "default rule private range 10.0.0.0/8"},
		{"tcp", "172.16.0.1:80", "private range 172.16.0.0/12"},
		{"tcp", "172.31.255.255:80", "private range 172.16.0.0/12"},
		{"tcp", "172.32.0.1:80", ""},
		{"tcp", "192.168.0.1:80", "private range 192.168.0.0/16"},
		{"tcp", "[fd00::1]:80", "private range fc00::/7"},
		{"tcp", "[fec0::1]:80", "site-local"},
		{"tcp", "[64:ff9b:1::1]:80", "local-use NAT64"},
		{"tcp", "100.64.0.1:80", "CGNAT"},
		{"tcp", "100.127.255.255:80", "CGNAT"},
		{"tcp", "100.128.0.1:80", ""},
		{"udp", "224.0.0.251:5353", "multicast 224.0.0.0/4"},
		{"udp", "[ff02::fb]:5353", "multicast ff00::/8"},
		{"udp", "255.255.255.255:67", "broadcast 255.255.255.255"},
		{"tcp", "240.0.0.1:80", "reserved range 240.0.0.0/4"},
		// Host addresses, private or public.
		{"tcp", "192.168.1.5:22", "host address 192.168.1.5"},
		{"tcp", "198.51.100.9:22", "host address 198.51.100.9"},
		{"tcp", "[2001:db8:5::9]:22", "host address 2001:db8:5::9"},
		{"tcp", "[::ffff:192.168.1.5]:22", "host address 192.168.1.5"},
		{"tcp", "[::ffff:198.51.100.9]:22", "host address 198.51.100.9"},
		{"tcp", "198.51.100.10:22", ""},
		// IPv4-mapped destinations are judged as IPv4; NAT64 ones too.
		{"tcp", "[::ffff:10.0.0.1]:80", "private range 10.0.0.0/8"},
		{"tcp", "[::ffff:127.0.0.1]:80", "loopback"},
		{"tcp", "[64:ff9b::10.0.0.1]:80", "NAT64 of private range 10.0.0.0/8"},
		{"tcp", "[64:ff9b::127.0.0.1]:80", "NAT64 of loopback"},
		{"tcp", "[64:ff9b::93.184.215.14]:80", ""},
		// The resolver's address is never refused.
		{"udp", "10.0.2.3:53", ""},
		{"tcp", "10.0.2.3:53", ""},
		{"tcp", "10.0.2.4:80", "private range 10.0.0.0/8"},
		{"udp", "[fd73:6278::3]:53", ""},
		{"tcp", "[fd73:6278::4]:80", "private range fc00::/7"},
	})
}

func TestGateway(t *testing.T) {
	t.Run("without --net-allow-host-loopback", func(t *testing.T) {
		p, _ := newPolicy(t, Options{Allow: []string{"10.0.0.0/8"}})
		checkFlows(t, p, []flow{
			{"tcp", "10.0.2.2:8080", "default rule host loopback 10.0.2.2 (--net-allow-host-loopback opens it)"},
			{"udp", "10.0.2.2:53", "host loopback"},
			{"tcp", "[fd73:6278::2]:8080", "default rule host loopback fd73:6278::2 (--net-allow-host-loopback opens it)"},
			{"tcp", "[::ffff:10.0.2.2]:8080", "host loopback 10.0.2.2"},
			{"tcp", "10.0.2.9:8080", ""}, // the allow opens the rest of 10/8
		})
	})
	t.Run("with --net-allow-host-loopback", func(t *testing.T) {
		p, _ := newPolicy(t, Options{AllowHostLoopback: true, Deny: []string{"10.0.2.2:22"}})
		checkFlows(t, p, []flow{
			{"tcp", "10.0.2.2:8080", ""},
			{"udp", "10.0.2.2:53", ""},
			{"tcp", "10.0.2.2:22", "--net-deny 10.0.2.2:22"},
			{"tcp", "[fd73:6278::2]:8080", ""},
			{"tcp", "[fd73:6278::2]:22", ""},      // the deny names the IPv4 gateway only
			{"tcp", "127.0.0.1:8080", "loopback"}, // only through the gateway
			{"tcp", "[::1]:8080", "loopback"},
			{"tcp", "10.0.2.9:8080", "private range"},
		})
	})
	t.Run("with an allowlist", func(t *testing.T) {
		p, _ := newPolicy(t, Options{AllowHostLoopback: true, Allow: []string{"example.com"}})
		checkFlows(t, p, []flow{{"tcp", "10.0.2.2:8080", ""}})
	})
}

func TestAllowOpensDefaultRange(t *testing.T) {
	p, _ := newPolicy(t, Options{Allow: []string{
		"10.99.0.0/24",
		"192.168.1.0/24",       // contains a host address: does not open it
		"198.51.100.9:8080",    // names a host address: opens it, on that port
		"0.0.0.0/0:443",        // broader than every default range: opens none
		"[fd00::/64]:80",       // opens a part of fc00::/7
		"tcp/169.254.169.0/24", // tcp only
	}})
	checkFlows(t, p, []flow{
		{"tcp", "10.99.0.7:5432", ""},
		{"udp", "10.99.0.7:53", ""},
		{"tcp", "10.99.1.7:5432", "private range 10.0.0.0/8"},
		{"tcp", "192.168.1.7:80", ""},
		{"tcp", "192.168.1.5:80", "host address 192.168.1.5"},
		{"tcp", "198.51.100.9:8080", ""},
		{"tcp", "198.51.100.9:8081", "host address"},
		{"tcp", "10.1.1.1:443", "private range"},
		{"tcp", "[fd00::1]:80", ""},
		{"tcp", "[fd00::1]:81", "private range fc00::/7"},
		{"tcp", "[fd00:0:0:1::1]:80", "private range fc00::/7"},
		{"tcp", "169.254.169.254:80", ""},
		{"udp", "169.254.169.254:80", "link-local"},
	})
}

func TestAllowMoreSpecificOpensNAT64(t *testing.T) {
	p, _ := newPolicy(t, Options{Allow: []string{"64:ff9b::a00:0/104", "64:ff9b::/96"}})
	checkFlows(t, p, []flow{
		{"tcp", "[64:ff9b::10.0.0.1]:80", ""},                    // /104 lies within 10.0.0.0/8's /104
		{"tcp", "[64:ff9b::192.168.0.1]:80", "NAT64 of private"}, // /96 is broader than /112
	})
}

func TestDenyWins(t *testing.T) {
	for _, order := range []string{"deny first", "allow first"} {
		t.Run(order, func(t *testing.T) {
			// The order within Options cannot matter: each flag is a set.
			o := Options{Allow: []string{"203.0.113.7", "10.99.0.0/24"}, Deny: []string{"203.0.113.0/24", "10.99.0.5"}}
			p, _ := newPolicy(t, o)
			checkFlows(t, p, []flow{
				{"tcp", "203.0.113.7:443", "--net-deny 203.0.113.0/24"},
				{"tcp", "10.99.0.5:443", "--net-deny 10.99.0.5"},
				{"tcp", "10.99.0.6:443", ""},
				{"tcp", "93.184.215.14:443", ""},
			})
		})
	}
}

func TestPortsAndProtocols(t *testing.T) {
	p, _ := newPolicy(t, Options{Deny: []string{
		":25",
		"udp/:443",
		"tcp/203.0.113.0/24:8000-8100",
		"[2001:db8::1]:443",
	}})
	checkFlows(t, p, []flow{
		{"tcp", "93.184.215.14:25", "--net-deny :25"},
		{"udp", "93.184.215.14:25", "--net-deny :25"},
		{"tcp", "93.184.215.14:26", ""},
		{"udp", "93.184.215.14:443", "--net-deny udp/:443"},
		{"UDP", "93.184.215.14:443", "--net-deny udp/:443"},
		{"tcp", "93.184.215.14:443", ""},
		{"tcp", "203.0.113.1:8000", "--net-deny tcp/203.0.113.0/24:8000-8100"},
		{"tcp", "203.0.113.1:8100", "--net-deny tcp/203.0.113.0/24:8000-8100"},
		{"tcp", "203.0.113.1:7999", ""},
		{"tcp", "203.0.113.1:8101", ""},
		{"udp", "203.0.113.1:8050", ""},
		{"tcp", "[2001:db8::1]:443", "--net-deny [2001:db8::1]:443"},
		{"tcp", "[2001:db8::1]:80", ""},
		{"tcp", "[2001:db8::2]:443", ""},
	})
}

func TestAllowlist(t *testing.T) {
	p, clock := newPolicy(t, Options{Allow: []string{"example.com", "tcp/*.cdn.example:443", "198.51.100.0/24"}})
	web := netip.MustParseAddr("93.184.215.14")
	web6 := netip.MustParseAddr("2606:2800:21f:cb07:6820:80da:af6b:8b2c")
	cdn := netip.MustParseAddr("203.0.113.50")
	p.Learn("Example.COM.", []netip.Addr{web, web6}, 10*time.Minute)
	p.Learn("img.cdn.example", []netip.Addr{cdn}, time.Minute)
	checkFlows(t, p, []flow{
		{"tcp", "93.184.215.14:443", ""},
		{"udp", "93.184.215.14:443", ""}, // QUIC
		{"tcp", "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443", ""},
		{"tcp", "93.184.215.15:443", "allowlist: no --net-allow rule matches"},
		{"udp", "8.8.8.8:53", "allowlist"}, // DNS around the resolver
		{"tcp", "203.0.113.50:443", ""},
		{"tcp", "203.0.113.50:80", "allowlist"},
		{"udp", "203.0.113.50:443", "allowlist"},
		{"tcp", "198.51.100.7:22", ""}, // explicit address rules still allow
		{"tcp", "10.0.2.3:53", ""},
	})
	// Bindings outlive a short TTL (5 minutes at least) but not a long one.
	clock.advance(6 * time.Minute)
	checkFlows(t, p, []flow{
		{"tcp", "93.184.215.14:443", ""},
		{"tcp", "203.0.113.50:443", "allowlist"},
	})
	clock.advance(5 * time.Minute)
	checkFlows(t, p, []flow{
		{"tcp", "93.184.215.14:443", "allowlist"},
		{"udp", "93.184.215.14:443", "allowlist"},
	})
	// Learning again restores it.
	p.Learn("example.com", []netip.Addr{web}, time.Hour)
	checkFlows(t, p, []flow{{"tcp", "93.184.215.14:443", ""}})
}

func TestDomainsDoNotOpenDefaultRanges(t *testing.T) {
	p, _ := newPolicy(t, Options{Allow: []string{"*.example.com"}})
	p.Learn("rebind.example.com", []netip.Addr{
		netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.2.2"),
	}, time.Hour)
	checkFlows(t, p, []flow{
		{"tcp", "10.0.0.1:80", "private range"},
		{"tcp", "127.0.0.1:80", "loopback"},
		{"tcp", "10.0.2.2:80", "host loopback"},
	})
}

func TestWildcardDomains(t *testing.T) {
	p, _ := newPolicy(t, Options{Allow: []string{"*.example.com"}, Deny: []string{"bad.example.com"}})
	tests := []struct {
		name string
		want bool
	}{
		{"www.example.com", true},
		{"a.b.example.com", true},
		{"WWW.Example.Com.", true},
		{"example.com", false}, // not the apex
		{"badexample.com", false},
		{"example.com.evil", false},
		{"bad.example.com", false}, // denied
		{"x.bad.example.com", true},
		{"\u212A.example.com", true}, // a strange label, but under example.com
	}
	for _, tt := range tests {
		if got, rule := p.NameAllowed(tt.name); got != tt.want {
			t.Errorf("NameAllowed(%q) = %v (%q), want %v", tt.name, got, rule, tt.want)
		}
	}
	if _, rule := p.NameAllowed("bad.example.com"); rule != "--net-deny bad.example.com" {
		t.Errorf("NameAllowed(bad.example.com) rule = %q", rule)
	}
	a := netip.MustParseAddr("93.184.215.14")
	p.Learn("deep.www.example.com", []netip.Addr{a}, time.Hour)
	checkFlows(t, p, []flow{{"tcp", "93.184.215.14:443", ""}})
}

func TestNamesAreASCIICaseInsensitiveOnly(t *testing.T) {
	p, _ := newPolicy(t, Options{Allow: []string{"kernel.org"}})
	if ok, _ := p.NameAllowed("KERNEL.org"); !ok {
		t.Error("NameAllowed(KERNEL.org) = false")
	}
	// strings.ToLower maps the Kelvin sign U+212A to 'k': the upstream
	// would resolve another name than the one allowed.
	if ok, _ := p.NameAllowed("\u212Aernel.org"); ok {
		t.Error("NameAllowed(\\u212Aernel.org) = true")
	}
}

func TestNamesWithoutAllowlist(t *testing.T) {
	p, _ := newPolicy(t, Options{Deny: []string{"tracker.example", "udp/video.example", "mail.example:25"}})
	for name, want := range map[string]bool{
		"tracker.example":   false,
		"x.tracker.example": true, // a name rule without *. names only that name
		"video.example":     true, // resolves: only its UDP is refused
		"mail.example":      true,
		"anything.test":     true,
	} {
		if got, _ := p.NameAllowed(name); got != want {
			t.Errorf("NameAllowed(%q) = %v, want %v", name, got, want)
		}
	}
	if ok, rule := p.AliasAllowed("tracker.example."); ok || rule != "--net-deny tracker.example" {
		t.Errorf("AliasAllowed(tracker.example.) = %v, %q", ok, rule)
	}
	if ok, _ := p.AliasAllowed("cdn.test"); !ok {
		t.Error("AliasAllowed(cdn.test) = false, want true")
	}
	p.Learn("video.example", []netip.Addr{netip.MustParseAddr("203.0.113.80")}, time.Hour)
	p.Learn("mail.example", []netip.Addr{netip.MustParseAddr("203.0.113.25")}, time.Hour)
	checkFlows(t, p, []flow{
		{"udp", "203.0.113.80:443", "--net-deny udp/video.example"},
		{"tcp", "203.0.113.80:443", ""},
		{"tcp", "203.0.113.25:25", "--net-deny mail.example:25"},
		{"tcp", "203.0.113.25:587", ""},
		{"tcp", "203.0.113.26:25", ""},
	})
}

func TestAliasAllowedIgnoresAllowlist(t *testing.T) {
	p, _ := newPolicy(t, Options{Allow: []string{"example.com"}})
	if ok, _ := p.AliasAllowed("example.com.cdn.test"); !ok {
		t.Error("AliasAllowed refused an unlisted CNAME target")
	}
	if ok, rule := p.NameAllowed("other.test"); ok || !strings.HasPrefix(rule, "allowlist") {
		t.Errorf("NameAllowed(other.test) = %v, %q, want refused by the allowlist", ok, rule)
	}
}

func TestLog(t *testing.T) {
	var buf bytes.Buffer
	p, _ := newPolicy(t, Options{Allow: []string{"example.com"}, Log: &buf})
	p.Learn("db.example.com", []netip.Addr{netip.MustParseAddr("10.0.0.9")}, time.Hour)
	if err := p.Decide("tcp", netip.MustParseAddrPort("93.184.215.14:443")); err == nil {
		t.Fatal("want a refusal")
	}
	if err := p.Decide("tcp", netip.MustParseAddrPort("10.0.0.9:5432")); err == nil {
		t.Fatal("want a refusal")
	}
	if err := p.Decide("tcp", netip.MustParseAddrPort("10.0.2.3:53")); err != nil {
		t.Fatal(err)
	}
	p.NameAllowed("other.test")
	p.NameAllowed("example.com")

	type record struct {
		Time  *string   `json:"time"`
		Proto *string   `json:"proto"`
		IP    *string   `json:"ip"`
		Port  *uint16   `json:"port"`
		Rule  *string   `json:"rule"`
		Names *[]string `json:"names"`
	}
	var got []record
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if r.Time == nil || r.Proto == nil || r.IP == nil || r.Port == nil || r.Rule == nil || r.Names == nil {
			t.Fatalf("log line %q lacks a field", sc.Text())
		}
		if _, err := time.Parse(time.RFC3339Nano, *r.Time); err != nil {
			t.Errorf("time %q: %v", *r.Time, err)
		}
		got = append(got, r)
	}
	if len(got) != 3 {
		t.Fatalf("got %d log lines, want 3:\n%s", len(got), buf.String())
	}
	want := []struct {
		proto, ip string
		port      uint16
		rule      string
		names     []string
	}{
		{"tcp", "93.184.215.14", 443, "allowlist: no --net-allow rule matches", []string{}},
		{"tcp", "10.0.0.9", 5432, "default rule private range 10.0.0.0/8", []string{"db.example.com"}},
		{"dns", "10.0.2.3", 53, "allowlist: no --net-allow rule names it", []string{"other.test"}},
	}
	for i, w := range want {
		g := got[i]
		if *g.Proto != w.proto || *g.IP != w.ip || *g.Port != w.port || *g.Rule != w.rule || strings.Join(*g.Names, ",") != strings.Join(w.names, ",") {
			t.Errorf("line %d = %s %s %d %q %q, want %+v", i, *g.Proto, *g.IP, *g.Port, *g.Rule, *g.Names, w)
		}
	}
	if *got[0].Time != "2025-01-02T03:04:05.000000006Z" {
		t.Errorf("time = %q", *got[0].Time)
	}
	if err := p.LogErr(); err != nil {
		t.Errorf("LogErr() = %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLogErr(t *testing.T) {
	p, _ := newPolicy(t, Options{Log: failWriter{}})
	if err := p.Decide("tcp", netip.MustParseAddrPort("10.0.0.1:80")); err == nil {
		t.Fatal("a log failure must not turn a refusal into an allow")
	}
	if err := p.LogErr(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("LogErr() = %v", err)
	}
}

func TestRefusedError(t *testing.T) {
	p, _ := newPolicy(t, Options{})
	err := p.Decide("tcp", netip.MustParseAddrPort("10.0.0.1:80"))
	const want = "refused tcp 10.0.0.1:80 by default rule private range 10.0.0.0/8"
	if err == nil || err.Error() != want {
		t.Errorf("Decide() = %v, want %q", err, want)
	}
}

func TestLearnBounds(t *testing.T) {
	p, clock := newPolicy(t, Options{Allow: []string{"*.example.com"}})
	a := netip.MustParseAddr("93.184.215.14")
	for i := range maxNamesPerAddr + 10 {
		p.Learn(strings.Repeat("x", i+1)+".example.com", []netip.Addr{a}, time.Duration(i+1)*time.Hour)
	}
	if n := len(p.names.lookup(a, clock.now())); n != maxNamesPerAddr {
		t.Errorf("names bound = %d, want %d", n, maxNamesPerAddr)
	}
	p.Learn("forever.example.com", []netip.Addr{a}, 1<<62)
	clock.advance(maxBinding + time.Second)
	if got := p.names.lookup(a, clock.now()); len(got) != 0 {
		t.Errorf("names after maxBinding = %q, want none", got)
	}
}

func TestMakeRoom(t *testing.T) {
	var n names
	now := time.Unix(0, 0)
	for i := range maxAddrs {
		a := netip.AddrFrom4([4]byte{1, byte(i >> 16), byte(i >> 8), byte(i)})
		n.learn("a.test", []netip.Addr{a}, time.Duration(i+1)*time.Hour, now)
	}
	first := netip.AddrFrom4([4]byte{1, 0, 0, 0})
	n.learn("b.test", []netip.Addr{netip.MustParseAddr("2.0.0.1")}, time.Hour, now)
	if len(n.byAddr) != maxAddrs {
		t.Errorf("table holds %d addresses, want %d", len(n.byAddr), maxAddrs)
	}
	if got := n.lookup(first, now); got != nil {
		t.Errorf("the soonest-expiring address survived: %q", got)
	}
}

func TestDescribe(t *testing.T) {
	p, _ := newPolicy(t, Options{Allow: []string{"example.com"}, Deny: []string{":25"}})
	d := p.Describe()
	for _, want := range []string{"--net-deny :25", "--net-allow example.com", "10.0.2.2 and fd73:6278::2: refused", "resolver at 10.0.2.3 and fd73:6278::3", "private range 10.0.0.0/8", "host address 192.168.1.5", "allowlist"} {
		if !strings.Contains(d, want) {
			t.Errorf("Describe() lacks %q:\n%s", want, d)
		}
	}
	p, _ = newPolicy(t, Options{AllowHostLoopback: true})
	if d := p.Describe(); !strings.Contains(d, "10.0.2.2 and fd73:6278::2: allowed") || !strings.Contains(d, "everything else: allowed") {
		t.Errorf("Describe() =\n%s", d)
	}
}

// TestAppendJSONString: the refusal log's strings are escaped exactly as
// encoding/json escapes them.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " backslash \`, "ctl \x00\x01\x1f\x7f \n\r\t\b\f", "<html> & co",
		"ünïcödé ✓ 😀", "line\u2028sep\u2029", "bad \xff\xfe utf8 \xc3", "trail \xe2\x82",
	} {
		checkJSONString(t, s)
	}
}

func checkJSONString(t *testing.T, s string) {
	t.Helper()
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendJSONString(nil, s); string(got) != string(want) {
		t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("a\"b\\c\x00<>&\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) { checkJSONString(t, s) })
}
