package vnet

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	ok := DefaultLayout()
	if err := ok.Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	no6 := DefaultLayout()
	no6.SandboxIP6, no6.GatewayIP6, no6.DNSIP6 = netip.Addr{}, netip.Addr{}, netip.Addr{}
	if err := no6.Validate(); err != nil {
		t.Fatalf("DefaultConfig without IPv6: %v", err)
	}
	for name, mutate := range map[string]func(*Layout){
		"mtu too small":       func(c *Layout) { c.MTU = 576 },
		"mtu too large":       func(c *Layout) { c.MTU = 65536 },
		"ipv6 sandbox":        func(c *Layout) { c.SandboxIP = netip.MustParseAddr("fd00::2") },
		"zero gateway":        func(c *Layout) { c.GatewayIP = netip.Addr{} },
		"gateway off subnet":  func(c *Layout) { c.GatewayIP = netip.MustParseAddr("10.0.3.2") },
		"dns is sandbox":      func(c *Layout) { c.DNSIP = c.SandboxIP },
		"prefix too long":     func(c *Layout) { c.PrefixLen = 31 },
		"prefix too short":    func(c *Layout) { c.PrefixLen = 4 },
		"gateway is dns addr": func(c *Layout) { c.GatewayIP = c.DNSIP },
		"ipv4 sandbox6":       func(c *Layout) { c.SandboxIP6 = netip.MustParseAddr("10.0.2.100") },
		"mapped gateway6":     func(c *Layout) { c.GatewayIP6 = netip.MustParseAddr("::ffff:10.0.2.2") },
		"zero dns6":           func(c *Layout) { c.DNSIP6 = netip.Addr{} },
		"link-local gateway6": func(c *Layout) { c.GatewayIP6 = netip.MustParseAddr("fe80::2") },
		"gateway6 off subnet": func(c *Layout) { c.GatewayIP6 = netip.MustParseAddr("fd73:6279::2") },
		"dns6 is sandbox6":    func(c *Layout) { c.DNSIP6 = c.SandboxIP6 },
		"prefix6 too long":    func(c *Layout) { c.PrefixLen6 = 127 },
		"prefix6 too short":   func(c *Layout) { c.PrefixLen6 = 32 },
	} {
		c := DefaultLayout()
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
}

func TestRequestFingerprint(t *testing.T) {
	fp := RequestFingerprint()
	if len(fp) != 16 || fp != RequestFingerprint() {
		t.Fatalf("RequestFingerprint = %q, not 16 stable hex digits", fp)
	}
	// The layout, not the values: field names and types, nested ones too.
	type a struct {
		X    bool
		Opts struct{ Allow []string }
	}
	type b struct {
		Y    bool
		Opts struct{ Allow []string }
	}
	type c struct {
		X    bool
		Opts struct{ Allow []int }
	}
	layout := func(v any) string {
		var s strings.Builder
		describe(&s, reflect.TypeOf(v), 0)
		return s.String()
	}
	if layout(a{}) == layout(b{}) || layout(a{}) == layout(c{}) {
		t.Errorf("renamed or retyped fields leave the layout as it was: %s", layout(a{}))
	}
	if !strings.Contains(layout(Request{}), "Allow []string<string>") {
		t.Errorf("Request's layout misses spec.Net's fields: %s", layout(Request{}))
	}
}

func TestParseDNSServer(t *testing.T) {
	for in, want := range map[string]string{
		"198.51.100.53":      "198.51.100.53:53",
		"198.51.100.53:5353": "198.51.100.53:5353",
		"2001:db8::53":       "[2001:db8::53]:53",
		"[2001:db8::53]":     "[2001:db8::53]:53",
		"[2001:db8::53]:853": "[2001:db8::53]:853",
	} {
		got, err := ParseDNSServer(in)
		if err != nil || got.String() != want {
			t.Errorf("ParseDNSServer(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "dns.example", "198.51.100.53:x", "1.2.3"} {
		if _, err := ParseDNSServer(in); err == nil {
			t.Errorf("ParseDNSServer(%q): no error", in)
		}
	}
}
