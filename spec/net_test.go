package spec

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParsePublish(t *testing.T) {
	cases := []struct {
		in      string
		want    Publish
		wantErr string
	}{
		{"8080:80", Publish{"tcp", netip.MustParseAddrPort("127.0.0.1:8080"), 80}, ""},
		{"0.0.0.0:8443:443/tcp", Publish{"tcp", netip.MustParseAddrPort("0.0.0.0:8443"), 443}, ""},
		{"5353:53/udp", Publish{"udp", netip.MustParseAddrPort("127.0.0.1:5353"), 53}, ""},
		{"[::1]:8080:80", Publish{"tcp", netip.MustParseAddrPort("[::1]:8080"), 80}, ""},
		{"8080", Publish{}, "want [hostip:]hostport:sandboxport"},
		{"8080:80/sctp", Publish{}, "protocol"},
		{"a:8080:80", Publish{}, "not an IP address"},
		{"0:80", Publish{}, "ports must be"},
		{"70000:80", Publish{}, "ports must be"},
		{"[::1:8080:80", Publish{}, "missing ]"},
	}
	for _, c := range cases {
		got, err := ParsePublish(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParsePublish(%q) error %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParsePublish(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestParseNetFlags(t *testing.T) {
	s, _, err := Parse(Sandbox, []string{"--net", "user", "-p", "8080:80", "--net-allow", "example.test", "--net-deny", "203.0.113.0/24",
		"--net-allow-host-loopback", "--net-log", "/tmp/l", "--net-dns", "198.51.100.2", "--net-backend", "slirp4netns", "--", "true"}, Options{RealUID: 1000, RealGID: 1000})
	if err != nil {
		t.Fatal(err)
	}
	n := s.Net
	if n.Mode != NetUser || !s.Namespaces.Net || len(n.Publish) != 1 || n.Allow[0] != "example.test" || n.Deny[0] != "203.0.113.0/24" ||
		!n.AllowHostLoopback || n.Log != "/tmp/l" || n.DNS[0] != "198.51.100.2" || n.Backend != BackendSlirp4netns {
		t.Fatalf("net: %+v", n)
	}
	s, _, err = Parse(Sandbox, []string{"--net", "host", "--", "true"}, Options{RealUID: 1000})
	if err != nil || s.Namespaces.Net {
		t.Fatalf("--net host: %v %+v", err, s.Namespaces)
	}
	for _, args := range [][]string{
		{"-p", "8080:80", "--", "true"},
		{"--net-allow", "example.test", "--", "true"},
		{"--net", "none", "--net-log", "/tmp/x", "--", "true"},
	} {
		_, _, err := Parse(Sandbox, args, Options{RealUID: 1000})
		if err == nil || !strings.Contains(err.Error(), "requires --net user") {
			t.Errorf("%q: %v, want 'requires --net user'", args, err)
		}
	}
	if _, _, err := Parse(Sandbox, []string{"--net", "bogus", "--", "true"}, Options{}); err == nil {
		t.Error("--net bogus accepted")
	}
	if _, _, err := Parse(Bwrap, []string{"--net", "user", "true"}, Options{}); err == nil || err.Error() != "Unknown option --net" {
		t.Errorf("bwrap --net: %v", err)
	}
}
