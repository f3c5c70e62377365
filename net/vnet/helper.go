package vnet

import (
	"encoding"
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"reflect"
	"strings"

	"sandbox/spec"
)

// The network helper is the process that runs the built-in stack for
// --net user: the executable built from ./cmd/sandbox-net, which the
// sandbox binary carries embedded and starts from a sealed memfd. Keeping
// gVisor there, and out of the sandbox binary, spares every sandbox start
// its package initialisation (about 3 ms and 100 page faults in each of
// the parent and init, measured) when networking is off.
//
// The helper's descriptors: 0 the request (one wire-form Request, then
// EOF), 1 the reply (one wire-form Reply, then closed), 2 the sandbox's
// stderr, HelperSockFD the socket init sends the TAP device over (and reads
// the one-byte go-ahead from), HelperLogFD the --net-log file when
// Request.Log is set, HelperExeFD the memfd it was run from (the parent
// names it by that number; the helper closes it). It runs until killed: the parent kills it once the
// sandbox has exited, and it has the parent's death as its own
// (PR_SET_PDEATHSIG).
const (
	HelperSockFD = 3
	HelperLogFD  = 4
	HelperExeFD  = 5
)

// Request is what the parent asks of the helper.
type Request struct {
	// Fingerprint is RequestFingerprint() as the parent computed it: both
	// sides decode the wire form by field order, so a helper built from
	// another tree must refuse rather than misread the policy.
	Fingerprint string
	// Parent is the parent's pid: the helper exits at once when its parent
	// is already another process (the parent died before the death signal
	// was armed).
	Parent int
	// Net is the sandbox's --net options: policy rules, DNS servers and
	// published ports (the parent has checked them).
	Net spec.Net
	// Log says fd HelperLogFD is the --net-log file.
	Log bool
	// LogPrefix starts each --verbose line the helper writes to stderr;
	// empty for no diagnostics.
	LogPrefix string
}

// Reply is the helper's one answer: an empty Err once the stack runs, the
// published ports are open and init has its go-ahead.
type Reply struct {
	Err string
	// Usage marks an error in what the user asked for (a published port
	// that cannot be bound, say), reported as it is; other errors are
	// failures of the stack.
	Usage bool
}

// RequestFingerprint names Request's wire layout: its exported fields'
// names and types, recursively (a type with its own binary form, such as
// netip's, by its name), hashed.
func RequestFingerprint() string {
	var b strings.Builder
	describe(&b, reflect.TypeOf(Request{}), 0)
	h := fnv.New64a()
	h.Write([]byte(b.String()))
	return fmt.Sprintf("%016x", h.Sum64())
}

var binaryMarshaler = reflect.TypeFor[encoding.BinaryMarshaler]()

func describe(b *strings.Builder, t reflect.Type, depth int) {
	b.WriteString(t.String())
	if depth > 8 || t.Implements(binaryMarshaler) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		b.WriteByte('{')
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			b.WriteString(f.Name)
			b.WriteByte(' ')
			describe(b, f.Type, depth+1)
			b.WriteByte(';')
		}
		b.WriteByte('}')
	case reflect.Slice, reflect.Array, reflect.Pointer:
		b.WriteByte('<')
		describe(b, t.Elem(), depth+1)
		b.WriteByte('>')
	}
}

// ParseDNSServer parses a --net-dns value: an IP address, with an optional
// port (IPv6 in brackets then), 53 by default.
func ParseDNSServer(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	ip, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.AddrPort{}, errors.New("not an IP address")
	}
	return netip.AddrPortFrom(ip, 53), nil
}
