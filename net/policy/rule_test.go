package policy

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseRule(t *testing.T) {
	pfx := netip.MustParsePrefix
	tests := []struct {
		text string
		want rule
	}{
		{"203.0.113.0/24", rule{prefix: pfx("203.0.113.0/24")}},
		{"203.0.113.7", rule{prefix: pfx("203.0.113.7/32")}},
		{"203.0.113.7:443", rule{prefix: pfx("203.0.113.7/32"), lo: 443, hi: 443}},
		{"10.1.2.0/24:8000-8100", rule{prefix: pfx("10.1.2.0/24"), lo: 8000, hi: 8100}},
		{"[2001:db8::1]:443", rule{prefix: pfx("2001:db8::1/128"), lo: 443, hi: 443}},
		{"[2001:db8::1]", rule{prefix: pfx("2001:db8::1/128")}},
		{"[2001:db8::/32]:443", rule{prefix: pfx("2001:db8::/32"), lo: 443, hi: 443}},
		{"2001:db8::1", rule{prefix: pfx("2001:db8::1/128")}},
		{"2001:DB8::/32", rule{prefix: pfx("2001:db8::/32")}},
		{"2001:db8::1:443", rule{prefix: pfx("2001:db8::1:443/128")}}, // no port without brackets
		{"::/0", rule{prefix: pfx("::/0")}},
		{"0.0.0.0/0", rule{prefix: pfx("0.0.0.0/0")}},
		{"example.com", rule{domain: "example.com"}},
		{"Example.COM.", rule{domain: "example.com"}},
		{"example.com:443", rule{domain: "example.com", lo: 443, hi: 443}},
		{"*.example.com", rule{domain: "example.com", sub: true}},
		{"*.example.com:80-81", rule{domain: "example.com", sub: true, lo: 80, hi: 81}},
		{"tcp/example.com:443", rule{proto: "tcp", domain: "example.com", lo: 443, hi: 443}},
		{"UDP/example.com", rule{proto: "udp", domain: "example.com"}},
		{"udp/[2001:db8::1]:443", rule{proto: "udp", prefix: pfx("2001:db8::1/128"), lo: 443, hi: 443}},
		{"tcp/10.0.0.0/8", rule{proto: "tcp", prefix: pfx("10.0.0.0/8")}},
		{":53", rule{lo: 53, hi: 53}},
		{"udp/:443", rule{proto: "udp", lo: 443, hi: 443}},
		{"tcp/:1-65535", rule{proto: "tcp", lo: 1, hi: 65535}},
		{"_dmarc.example.com", rule{domain: "_dmarc.example.com"}},
		{"localhost", rule{domain: "localhost"}},
		{"xn--bcher-kva.example", rule{domain: "xn--bcher-kva.example"}},
		{"1.example.com", rule{domain: "1.example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := parseRule(tt.text)
			if err != nil {
				t.Fatalf("parseRule(%q): %v", tt.text, err)
			}
			if got.key() != tt.want.key() {
				t.Errorf("parseRule(%q) = %+v, want %+v", tt.text, got.key(), tt.want)
			}
			if got.text != tt.text {
				t.Errorf("text = %q, want %q", got.text, tt.text)
			}
		})
	}
}

func TestParseRuleBad(t *testing.T) {
	tests := []struct {
		text    string
		wantErr string // a part of the message that says what is wrong
	}{
		{"", "empty rule"},
		{"exa mple.com", "invalid domain"},
		{"a.com,b.com", "repeat the flag"},
		{"icmp/10.0.0.1", `unknown protocol "icmp"`},
		{"tcp/", "nothing after tcp/"},
		{"tcp", "is a protocol"},
		{"udp", "is a protocol"},
		{"10.1.2.3/24", "did you mean 10.1.2.0/24"},
		{"10.0.0.0/33", "invalid CIDR"},
		{"2001:db8::1/24", "did you mean 2001:d00::/24"},
		{"10.0.0", "invalid IP address"},
		{"300.1.1.1", "invalid IP address"},
		{"1.2.3.4.5", "invalid IP address"},
		{"example.com:0", "out of range"},
		{"example.com:65536", "out of range"},
		{"example.com:http", "invalid port"},
		{"example.com:+80", "invalid port"},
		{"example.com:", "missing port"},
		{"example.com:100-90", "backwards"},
		{"example.com:80-", "invalid port"},
		{"[2001:db8::1]:", "missing port"},
		{"[2001:db8::1", "missing ']'"},
		{"[2001:db8::1]443", "want :PORT"},
		{"[10.0.0.1]:80", "brackets are for IPv6"},
		{"fe80::1%eth0", "zones"},
		{"::ffff:10.0.0.1", "write it as IPv4"},
		{"*", "'*'"},
		{"*example.com", "'*'"},
		{"a.*.example.com", "'*'"},
		{"*.", "empty name"},
		{"example..com", "empty label"},
		{"-example.com", "starts or ends with '-'"},
		{"bücher.example", "xn--"},
		{"example.123", "numeric"},
		{strings.Repeat("a", 64) + ".com", "longer than 63"},
		{strings.Repeat("abcdefg.", 32) + "com", "longer than 253"},
		{"a/b", `unknown protocol "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			_, err := parseRule(tt.text)
			if err == nil {
				t.Fatalf("parseRule(%q) = nil error, want one containing %q", tt.text, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseRule(%q) = %q, want it to contain %q", tt.text, err, tt.wantErr)
			}
		})
	}
}

// TestNewErrorNamesFlagAndRule checks the user-facing form of a bad rule,
// which is a contract.
func TestNewErrorNamesFlagAndRule(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"bad allow", Options{Allow: []string{"exa mple.com"}},
			`--net-allow "exa mple.com": invalid domain`},
		{"bad deny", Options{Deny: []string{"10.0.0.1/8"}},
			`--net-deny "10.0.0.1/8": CIDR has host bits set: did you mean 10.0.0.0/8?`},
		{"allow and deny the same", Options{Allow: []string{"Example.com"}, Deny: []string{"example.com."}},
			`--net-allow "Example.com" and --net-deny "example.com."`},
		{"allow loopback", Options{Allow: []string{"127.0.0.1"}, GatewayIP: gateway},
			`--net-allow "127.0.0.1": loopback 127.0.0.0/8 is never reachable`},
		{"allow gateway", Options{Allow: []string{"10.0.2.2:22"}, GatewayIP: gateway},
			`--net-allow "10.0.2.2:22": 10.0.2.2 is the host's loopback: use --net-allow-host-loopback`},
		{"allow gateway6", Options{Allow: []string{"[fd73:6278::2]:22"}, GatewayIP: gateway, GatewayIP6: gateway6},
			`--net-allow "[fd73:6278::2]:22": fd73:6278::2 is the host's loopback: use --net-allow-host-loopback`},
		{"host loopback without gateway", Options{AllowHostLoopback: true},
			`--net-allow-host-loopback: no gateway address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.o)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("New() = %v, want an error starting %q", err, tt.want)
			}
		})
	}
}

func TestNewAcceptsBroadAllows(t *testing.T) {
	// Rules that contain a fixed range without lying within it are fine:
	// they just do not open it.
	for _, r := range []string{"0.0.0.0/0", "::/0", "0.0.0.0/8", ":443", "10.0.0.0/8"} {
		if _, err := New(Options{Allow: []string{r}, GatewayIP: gateway}); err != nil {
			t.Errorf("New(--net-allow %s) = %v", r, err)
		}
	}
}
