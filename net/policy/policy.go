// Package policy decides which connections the sandbox's user-mode network
// stack may make on the sandbox's behalf: --net-allow, --net-deny and
// --net-allow-host-loopback, turned into a Decide for each new TCP
// connection or UDP flow (QUIC is UDP) and a NameAllowed for each name the
// sandbox's resolver is asked for.
//
// # Rules
//
// --net-allow and --net-deny each take one rule; repeat the flag for more.
// Rules are case-insensitive and contain no spaces:
//
//	rule    = [proto "/"] target [":" ports]
//	        | [proto "/"] ":" ports              every address, these ports
//	proto   = "tcp" | "udp"                      absent: both
//	target  = IPv4 | IPv4 "/" bits               203.0.113.7, 10.1.2.0/24
//	        | IPv6 | IPv6 "/" bits               2001:db8::1, 2001:db8::/32
//	        | "[" IPv6 ["/" bits] "]"            brackets: needed before a port
//	        | name | "*." name                   example.com, *.example.com
//	ports   = port | port "-" port               443, 8000-8100 (1-65535)
//
// Examples: 203.0.113.0/24, 203.0.113.7:443, 10.1.2.0/24:8000-8100,
// [2001:db8::1]:443, example.com, example.com:443, *.example.com,
// tcp/example.com:443, udp/:443, :25.
//
// A bare IPv6 address never has a port: 2001:db8::1:443 is the address
// 2001:db8::1:443; write [2001:db8::1]:443. A CIDR must have no host bits
// set (10.1.2.3/24 is an error that suggests 10.1.2.0/24). "*.example.com"
// names every subdomain of example.com at any depth, not example.com
// itself; write both rules for both. Names are ASCII (internationalized
// names in their xn-- form); a trailing dot is ignored. "tcp" or "udp" alone
// is an error, not a name: every UDP port is udp/:1-65535.
//
// # Evaluation
//
// For a flow of protocol proto to dst, in this order, the first step that
// decides wins:
//
//  1. dst is the resolver's address (Options.DNSIP or DNSIP6): allowed.
//  2. A --net-deny rule matches: refused. A deny always wins, whatever the
//     allow rules and whatever the order of the flags: the rules form a set.
//  3. dst is the gateway (Options.GatewayIP or GatewayIP6, the host's
//     loopback): allowed
//     with --net-allow-host-loopback, refused without. Allow rules do not
//     open it: the host's loopback has one door, and one flag for it.
//  4. dst is in a default range (below) and no matching --net-allow address
//     rule lies within that range: refused. "Within" means at least as many
//     prefix bits, so the more specific rule wins: --net-allow 10.99.0.0/24
//     opens that /24 of 10.0.0.0/8, and --net-allow 0.0.0.0/0 or :443 opens
//     no default range. Domain rules never open a default range (a name an
//     attacker controls could resolve to 10.0.0.1: DNS rebinding); to reach
//     an internal host by name, allow its address as well. The fixed
//     ranges, loopback and unspecified, are never opened.
//  5. A --net-allow rule matches: allowed.
//  6. No --net-allow rule names a domain: allowed. Otherwise the policy is an
//     allowlist and the flow is refused.
//
// Since allows all allow and denies all refuse, no two rules of one flag can
// disagree, so neither order nor specificity matters among them.
//
// An address rule matches a flow whose destination address is in its
// prefix; a port-only rule every address; a domain rule an address that the
// resolver bound to a name it names (see below). A rule with ports matches
// only those destination ports, one with a protocol only that protocol.
//
// # Default ranges
//
// Refused unless an allow rule opens them as in step 4, and named in this
// order in refusals:
//
//	loopback            127.0.0.0/8, ::1              fixed: never opened
//	unspecified         0.0.0.0, ::                   fixed: Linux connects these to the host
//	host address        each of Options.HostAddrs     only a rule naming that very address opens it
//	link-local          169.254.0.0/16, fe80::/10
//	private             10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10, 64:ff9b:1::/48
//	shared (CGNAT)      100.64.0.0/10                 ISP-internal, and where Tailscale-style VPNs live
//	this network        0.0.0.0/8
//	multicast           224.0.0.0/4, ff00::/8
//	broadcast, reserved 255.255.255.255, 240.0.0.0/4
//
// IPv4-mapped IPv6 destinations are judged as IPv4, and a NAT64 destination
// 64:ff9b::a.b.c.d as a.b.c.d also. The gateway is step 3.
//
// # Names
//
// The sandbox's resolver asks NameAllowed before forwarding a query: a name
// a --net-deny domain rule without ports or protocol matches is refused, and
// in allowlist mode so is a name that no --net-allow domain rule matches. The
// resolver then calls Learn with the addresses of each answer: Learn binds
// them to the queried name for the answer's TTL, at least 5 minutes
// (programs cache answers past short TTLs), at most 7 days. A domain rule
// matches an address while a binding to a name it names lives. So in
// allowlist mode a connection to an address that no allowed name resolved
// to is refused, UDP included, unless an address rule allows it; an address
// the program knows without asking the resolver only reaches the network
// through address rules. Denying a name without allowlist mode stops its
// resolution, not a program that already knows its addresses.
//
// Names met along a CNAME chain are checked by AliasAllowed: only --net-deny
// refuses them (CNAME cloaking), since allowed names commonly alias CDN
// names no allowlist names.
//
// The policy sees addresses, not TLS server names: an allowed name's address
// also reaches whatever else that address serves (shared hosting, CDNs).
//
// # Log
//
// With Options.Log set, each refusal is one JSON object on its own line:
//
//	{"time":"2025-01-02T03:04:05.123456789Z","proto":"tcp","destination":"10.0.0.1:80","ip":"10.0.0.1","port":80,
//	 "rule":"default rule private range 10.0.0.0/8","names":["db.example.com"]}
//
// time is RFC 3339 with nanoseconds in UTC, rule is the Refused.Rule text,
// names the names bound to ip when it was refused (never null). A name the
// resolver refuses is logged with proto "dns", the resolver's address and
// port 53, and the refused name as names.
package policy

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Options configures a Policy.
type Options struct {
	Allow, Deny       []string         // rule texts, in argv order
	AllowHostLoopback bool             // --net-allow-host-loopback: GatewayIP (and GatewayIP6) is allowed
	GatewayIP         netip.Addr       // 10.0.2.2: a connection here means the host's loopback
	DNSIP             netip.Addr       // 10.0.2.3: never refused (handled by the resolver)
	GatewayIP6        netip.Addr       // the IPv6 gateway, the host's loopback too; invalid for none
	DNSIP6            netip.Addr       // the IPv6 resolver address; invalid for none
	HostAddrs         []netip.Addr     // the host's own addresses (the caller gathers them from net.InterfaceAddrs)
	Log               io.Writer        // JSON lines of refusals; nil for none
	Now               func() time.Time // the clock for bindings and the log; nil for time.Now
}

// Policy is a parsed set of rules plus the names the resolver has bound to
// addresses. It is safe for concurrent use.
type Policy struct {
	allow, deny  []rule
	allowlist    bool // a --net-allow rule names a domain
	hostLoopback bool
	gateway      netip.Addr
	dnsIP        netip.Addr
	gateway6     netip.Addr
	dnsIP6       netip.Addr
	defaults     []defaultRange
	now          func() time.Time
	names        names

	logMu  sync.Mutex
	log    io.Writer
	logErr error
}

// Refused is the error Decide returns for a refused flow.
type Refused struct {
	Proto string         // as given to Decide, lowercased
	Dst   netip.AddrPort // IPv4-mapped addresses unmapped
	Rule  string         // what refused it: "--net-deny example.com", "default rule private range 10.0.0.0/8", ...
}

// Error implements error.
func (e *Refused) Error() string {
	return fmt.Sprintf("refused %s %s by %s", e.Proto, e.Dst, e.Rule)
}

// New parses the rules of o. An error names the flag and the rule.
func New(o Options) (*Policy, error) {
	p := &Policy{
		hostLoopback: o.AllowHostLoopback,
		gateway:      o.GatewayIP.Unmap().WithZone(""),
		dnsIP:        o.DNSIP.Unmap().WithZone(""),
		gateway6:     o.GatewayIP6.WithZone(""),
		dnsIP6:       o.DNSIP6.WithZone(""),
		defaults:     buildDefaults(o.HostAddrs),
		now:          o.Now,
		log:          o.Log,
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.hostLoopback && !p.gateway.IsValid() {
		return nil, errors.New("--net-allow-host-loopback: no gateway address to reach the host's loopback through")
	}
	var err error
	if p.deny, err = parseRules("--net-deny", o.Deny); err != nil {
		return nil, err
	}
	if p.allow, err = parseRules("--net-allow", o.Allow); err != nil {
		return nil, err
	}
	for i := range p.allow {
		a := &p.allow[i]
		if err := p.checkAllow(a); err != nil {
			return nil, fmt.Errorf("%s %q: %w", a.flag, a.text, err)
		}
		for j := range p.deny {
			if d := &p.deny[j]; d.key() == a.key() {
				return nil, fmt.Errorf("%s %q and %s %q: the same rule is allowed and denied (a --net-deny always wins): drop one", a.flag, a.text, d.flag, d.text)
			}
		}
		if a.domain != "" {
			p.allowlist = true
		}
	}
	return p, nil
}

func parseRules(flag string, texts []string) ([]rule, error) {
	rules := make([]rule, 0, len(texts))
	for _, t := range texts {
		r, err := parseRule(t)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", flag, t, err)
		}
		r.flag = flag
		rules = append(rules, r)
	}
	return rules, nil
}

// checkAllow refuses an allow rule that could never allow anything: one
// within a fixed range or naming just the gateway.
func (p *Policy) checkAllow(r *rule) error {
	if !r.prefix.IsValid() {
		return nil
	}
	if r.prefix.IsSingleIP() && p.isGateway(r.prefix.Addr()) {
		return fmt.Errorf("%s is the host's loopback: use --net-allow-host-loopback (and --net-deny for the ports to keep closed)", r.prefix.Addr())
	}
	for _, d := range fixedRanges() {
		if d.prefix.Bits() <= r.prefix.Bits() && d.prefix.Contains(r.prefix.Addr()) {
			return fmt.Errorf("%s is never reachable: the host's loopback is reached at %s with --net-allow-host-loopback", d, gatewayOr(p.gateway))
		}
	}
	return nil
}

func gatewayOr(a netip.Addr) string {
	if a.IsValid() {
		return a.String()
	}
	return "the gateway address"
}

// Decide reports whether the sandbox may open a flow of proto ("tcp" or
// "udp") to dst: nil, or a *Refused, which it also logs.
func (p *Policy) Decide(proto string, dst netip.AddrPort) error {
	addr := dst.Addr().Unmap().WithZone("")
	dst = netip.AddrPortFrom(addr, dst.Port())
	proto = strings.ToLower(proto)
	if addr.IsValid() && (addr == p.dnsIP || addr == p.dnsIP6) {
		return nil
	}
	now := p.now()
	names := p.names.lookup(addr, now)
	why := p.verdict(proto, dst, names)
	if why == "" {
		return nil
	}
	p.logRefusal(now, proto, dst, why, names)
	return &Refused{Proto: proto, Dst: dst, Rule: why}
}

// verdict returns what refuses the flow, or "" if it is allowed. The steps
// are the package doc's.
func (p *Policy) verdict(proto string, dst netip.AddrPort, names []string) string {
	for i := range p.deny {
		if r := &p.deny[i]; r.matches(proto, dst, names) {
			return r.String()
		}
	}
	addr := dst.Addr()
	if p.isGateway(addr) {
		if p.hostLoopback {
			return ""
		}
		return "default rule host loopback " + addr.String() + " (--net-allow-host-loopback opens it)"
	}
	allowBits, named := -1, false
	for i := range p.allow {
		r := &p.allow[i]
		switch {
		case !r.matches(proto, dst, names):
		case r.domain != "":
			named = true
		case r.prefix.IsValid():
			allowBits = max(allowBits, r.prefix.Bits())
		default:
			allowBits = max(allowBits, 0)
		}
	}
	if d, ok := p.defaultDeny(addr, allowBits); ok {
		return "default rule " + d.String()
	}
	if allowBits >= 0 || named || !p.allowlist {
		return ""
	}
	return "allowlist: no --net-allow rule matches"
}

// isGateway reports whether addr is one of the gateway addresses.
func (p *Policy) isGateway(addr netip.Addr) bool {
	return addr.IsValid() && (addr == p.gateway || addr == p.gateway6)
}

// NameAllowed reports whether the resolver may resolve name: false, with the
// rule that refuses it, for a name a --net-deny rule without ports or
// protocol names or, in allowlist mode, a name no --net-allow rule names. A
// refusal is logged.
func (p *Policy) NameAllowed(name string) (bool, string) {
	n := normalizeName(name)
	why := p.nameDenied(n)
	if why == "" && p.allowlist && !p.nameListed(n) {
		why = "allowlist: no --net-allow rule names it"
	}
	if why == "" {
		return true, ""
	}
	p.logName(n, why)
	return false, why
}

// AliasAllowed reports whether the resolver may follow a CNAME chain
// through name, a name met in an answer rather than asked for: only the
// --net-deny rules apply (an allowlist names what the sandbox asks for, not
// the CDN names those alias). A refusal is logged.
func (p *Policy) AliasAllowed(name string) (bool, string) {
	n := normalizeName(name)
	why := p.nameDenied(n)
	if why == "" {
		return true, ""
	}
	p.logName(n, why)
	return false, why
}

func (p *Policy) nameDenied(n string) string {
	for i := range p.deny {
		if r := &p.deny[i]; r.domain != "" && r.anyPort() && r.matchesName(n) {
			return r.String()
		}
	}
	return ""
}

func (p *Policy) nameListed(n string) bool {
	for i := range p.allow {
		if r := &p.allow[i]; r.domain != "" && r.matchesName(n) {
			return true
		}
	}
	return false
}

// Learn binds addrs to name, the name the sandbox asked for (for a CNAME
// chain, not the chain's last name), for ttl within the package doc's
// bounds.
func (p *Policy) Learn(name string, addrs []netip.Addr, ttl time.Duration) {
	n := normalizeName(name)
	if n == "" {
		return
	}
	p.names.learn(n, addrs, ttl, p.now())
}

// normalizeName lowercases ASCII letters only and drops one trailing dot.
// Only ASCII: strings.ToLower would turn the Kelvin sign into 'k' and so
// match a name the upstream resolves as a different one.
func normalizeName(s string) string {
	s = strings.TrimSuffix(s, ".")
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// logRefusal writes one line of the refusal log, a JSON object:
//
//	{"time":"2026-11-28T20:00:00.123Z","proto":"tcp","destination":"[::1]:80","ip":"::1","port":80,"rule":"...","names":[]}
//
// destination is ip:port ([ip]:port for IPv6); ip and port repeat it for
// filters. Written by hand (appendJSONString): encoding/json would be linked
// into the sandbox binary for this line alone.
func (p *Policy) logRefusal(now time.Time, proto string, dst netip.AddrPort, rule string, names []string) {
	if p.log == nil {
		return
	}
	ip := ""
	if dst.Addr().IsValid() {
		ip = dst.Addr().String()
	}
	line := make([]byte, 0, 256)
	line = append(line, `{"time":`...)
	line = appendJSONString(line, now.UTC().Format(time.RFC3339Nano))
	line = append(line, `,"proto":`...)
	line = appendJSONString(line, proto)
	line = append(line, `,"destination":`...)
	line = appendJSONString(line, dst.String())
	line = append(line, `,"ip":`...)
	line = appendJSONString(line, ip)
	line = append(line, `,"port":`...)
	line = strconv.AppendUint(line, uint64(dst.Port()), 10)
	line = append(line, `,"rule":`...)
	line = appendJSONString(line, rule)
	line = append(line, `,"names":[`...)
	for i, n := range names {
		if i > 0 {
			line = append(line, ',')
		}
		line = appendJSONString(line, n)
	}
	line = append(line, "]}\n"...)
	p.logMu.Lock()
	defer p.logMu.Unlock()
	if _, err := p.log.Write(line); err != nil && p.logErr == nil {
		p.logErr = fmt.Errorf("write --net-log: %w", err)
	}
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it: quotes, backslashes and control characters, the HTML
// characters <, > and &, U+2028 and U+2029, and each invalid UTF-8 byte as
// U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

func (p *Policy) logName(name, rule string) {
	p.logRefusal(p.now(), "dns", netip.AddrPortFrom(p.dnsIP, 53), rule, []string{name})
}

func (p *Policy) setLogErr(err error) {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	if p.logErr == nil {
		p.logErr = err
	}
}

// LogErr returns the first error met writing the refusal log, if any: the
// refusals themselves are enforced all the same, so the caller reports it
// (at exit, say) rather than losing it.
func (p *Policy) LogErr() error {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	return p.logErr
}

// Describe returns the policy in words, one line per step, for --verbose.
func (p *Policy) Describe() string {
	var b strings.Builder
	b.WriteString("network policy:\n")
	if dns := validAddrs(p.dnsIP, p.dnsIP6); dns != "" {
		fmt.Fprintf(&b, "  the resolver at %s is always reachable\n", dns)
	}
	if len(p.deny) > 0 {
		fmt.Fprintf(&b, "  refused first, whatever else allows it: %s\n", ruleList(p.deny))
	}
	if gws := validAddrs(p.gateway, p.gateway6); gws != "" {
		if p.hostLoopback {
			fmt.Fprintf(&b, "  the host's loopback at %s: allowed (--net-allow-host-loopback)\n", gws)
		} else {
			fmt.Fprintf(&b, "  the host's loopback at %s: refused (--net-allow-host-loopback opens it)\n", gws)
		}
	}
	var fixed, ranges []string
	for _, d := range p.defaults {
		if d.fixed {
			fixed = append(fixed, d.String())
		} else {
			ranges = append(ranges, d.String())
		}
	}
	fmt.Fprintf(&b, "  never reachable: %s\n", strings.Join(fixed, ", "))
	fmt.Fprintf(&b, "  refused by default unless an allowed address rule lies within: %s\n", strings.Join(ranges, ", "))
	if len(p.allow) > 0 {
		fmt.Fprintf(&b, "  allowed: %s (names do not open default ranges)\n", ruleList(p.allow))
	}
	if p.allowlist {
		b.WriteString("  everything else: refused (allowlist: only allowed names resolve, and only their addresses and allowed address rules are reachable)\n")
	} else {
		b.WriteString("  everything else: allowed\n")
	}
	return b.String()
}

// validAddrs lists the valid ones of addrs, joined by " and ".
func validAddrs(addrs ...netip.Addr) string {
	var s []string
	for _, a := range addrs {
		if a.IsValid() {
			s = append(s, a.String())
		}
	}
	return strings.Join(s, " and ")
}

func ruleList(rs []rule) string {
	s := make([]string, len(rs))
	for i := range rs {
		s[i] = rs[i].String()
	}
	return strings.Join(s, ", ")
}
