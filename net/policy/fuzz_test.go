package policy

import (
	"net/netip"
	"strings"
	"testing"
)

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{
		"203.0.113.0/24", "203.0.113.7:443", "10.1.2.0/24:8000-8100", "[2001:db8::1]:443",
		"example.com", "example.com:443", "*.example.com", "tcp/example.com:443", "udp/:443",
		":53", "2001:db8::1", "[::1", "*.", "tcp/", "a/b/c", "[]:1", "[:]:1", "1-2", ":1-",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r, err := parseRule(text)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		kinds := 0
		if r.prefix.IsValid() {
			kinds++
			if r.prefix != r.prefix.Masked() || r.prefix.Addr().Zone() != "" || r.prefix.Addr().Is4In6() {
				t.Errorf("parseRule(%q) kept prefix %v", text, r.prefix)
			}
		}
		if r.domain != "" {
			kinds++
			if strings.ContainsAny(r.domain, " */:[]") || strings.HasSuffix(r.domain, ".") {
				t.Errorf("parseRule(%q) kept domain %q", text, r.domain)
			}
		}
		if kinds == 0 && r.hi == 0 {
			t.Errorf("parseRule(%q) = a rule matching everything: %+v", text, r)
		}
		if kinds > 1 || r.lo > r.hi || (r.hi != 0 && r.lo == 0) {
			t.Errorf("parseRule(%q) = %+v", text, r)
		}
		if r.proto != "" && r.proto != "tcp" && r.proto != "udp" {
			t.Errorf("parseRule(%q) proto %q", text, r.proto)
		}
		// Rules are case-insensitive.
		if up, err := parseRule(strings.ToUpper(text)); isASCII(text) && (err != nil || up.key() != r.key()) {
			t.Errorf("parseRule(%q) = %+v, but its upper case gives %+v, %v", text, r.key(), up.key(), err)
		}
		// A rule in a policy must not make Decide panic.
		p, err := New(Options{Deny: []string{text}})
		if err == nil {
			p.Decide("tcp", netip.MustParseAddrPort("203.0.113.7:443"))
			p.NameAllowed("www.example.com")
		}
	})
}

func isASCII(s string) bool {
	for _, c := range []byte(s) {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
