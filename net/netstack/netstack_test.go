package netstack

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestRoute(t *testing.T) {
	denied := errors.New("denied")
	ap := netip.MustParseAddrPort
	base := DefaultConfig()
	base.DNS = func(q []byte) ([]byte, error) { return q, nil }
	base.Decide = func(proto string, dst netip.AddrPort) error {
		if dst.Port() == 25 {
			return denied
		}
		return nil
	}
	loop := base
	loop.HostLoopback = true
	noDNS := base
	noDNS.DNS = nil

	tests := []struct {
		name    string
		cfg     Config
		proto   string
		dst     string
		want    target
		wantDst string
		wantErr error
	}{
		{"internet", base, "tcp", "93.184.216.34:443", toHost, "93.184.216.34:443", nil},
		{"lan is Decide's call", base, "udp", "192.168.1.1:53", toHost, "192.168.1.1:53", nil},
		{"decide refuses", base, "tcp", "93.184.216.34:25", 0, "", denied},
		{"dns udp", base, "udp", "10.0.2.3:53", toDNS, "10.0.2.3:53", nil},
		{"dns tcp", base, "tcp", "10.0.2.3:53", toDNS, "10.0.2.3:53", nil},
		{"dns other port", base, "tcp", "10.0.2.3:80", 0, "", errRefused},
		{"dns without DNS func", noDNS, "udp", "10.0.2.3:53", 0, "", errRefused},
		{"gateway without host loopback", base, "tcp", "10.0.2.2:8080", 0, "", errRefused},
		{"gateway is host loopback", loop, "tcp", "10.0.2.2:8080", toHost, "127.0.0.1:8080", nil},
		{"host loopback still asks Decide", loop, "tcp", "10.0.2.2:25", 0, "", denied},
		{"loopback never", loop, "tcp", "127.0.0.1:8080", 0, "", errRefused},
		{"mapped loopback never", loop, "tcp", "[::ffff:127.0.0.1]:8080", 0, "", errRefused},
		{"loopback v6 never", loop, "tcp", "[::1]:8080", 0, "", errRefused},
		{"unspecified never", base, "tcp", "0.0.0.0:80", 0, "", errRefused},
		{"this network never", base, "udp", "0.1.2.3:80", 0, "", errRefused},
		{"broadcast never", base, "udp", "255.255.255.255:67", 0, "", errRefused},
		{"multicast never", base, "udp", "224.0.0.251:5353", 0, "", errRefused},
		{"own subnet never", base, "tcp", "10.0.2.50:22", 0, "", errRefused},
		{"own address never", base, "tcp", "10.0.2.100:22", 0, "", errRefused},
		{"port zero never", base, "udp", "93.184.216.34:0", 0, "", errRefused},
		{"internet v6", base, "tcp", "[2001:db8::1]:443", toHost, "[2001:db8::1]:443", nil},
		{"decide refuses v6", base, "tcp", "[2001:db8::1]:25", 0, "", denied},
		{"dns v6", base, "udp", "[fd73:6278::3]:53", toDNS, "[fd73:6278::3]:53", nil},
		{"dns v6 other port", base, "udp", "[fd73:6278::3]:54", 0, "", errRefused},
		{"gateway v6 without host loopback", base, "tcp", "[fd73:6278::2]:8080", 0, "", errRefused},
		{"gateway v6 is host ::1", loop, "tcp", "[fd73:6278::2]:8080", toHost, "[::1]:8080", nil},
		{"host loopback v6 still asks Decide", loop, "tcp", "[fd73:6278::2]:25", 0, "", denied},
		{"mapped gateway never", loop, "tcp", "[::ffff:10.0.2.2]:8080", 0, "", errRefused},
		{"mapped dns never", base, "udp", "[::ffff:10.0.2.3]:53", 0, "", errRefused},
		{"mapped internet never", base, "tcp", "[::ffff:93.184.216.34]:443", 0, "", errRefused},
		{"ipv4-compatible never", base, "tcp", "[::7f00:1]:80", 0, "", errRefused},
		{"unspecified v6 never", base, "tcp", "[::]:80", 0, "", errRefused},
		{"multicast v6 never", base, "udp", "[ff02::fb]:5353", 0, "", errRefused},
		{"own v6 subnet never", base, "tcp", "[fd73:6278::50]:22", 0, "", errRefused},
		{"own v6 address never", base, "tcp", "[fd73:6278::100]:22", 0, "", errRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, gotDst, err := tt.cfg.route(tt.proto, ap(tt.dst))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("route(%s, %s) error = %v, want %v", tt.proto, tt.dst, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got != tt.want || gotDst != ap(tt.wantDst) {
				t.Errorf("route(%s, %s) = %v %v, want %v %v", tt.proto, tt.dst, got, gotDst, tt.want, tt.wantDst)
			}
		})
	}
}

// query builds a DNS query for name with one question of type qtype.
func query(id uint16, name string, qtype uint16) []byte {
	q := []byte{byte(id >> 8), byte(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, label := range strings.Split(name, ".") {
		q = append(q, byte(len(label)))
		q = append(q, label...)
	}
	q = append(q, 0, byte(qtype>>8), byte(qtype), 0, 1)
	return q
}

func TestServfail(t *testing.T) {
	q := query(0xbeef, "example.test", 1)
	withEDNS := append(query(7, "a.b", 28), 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint16(withEDNS[10:], 1) // ARCOUNT
	r := servfail(q)
	if r == nil {
		t.Fatal("servfail(valid query) = nil")
	}
	if r[0] != 0xbe || r[1] != 0xef || r[2] != 0x81 || r[3] != 0x82 {
		t.Errorf("header = % x, want id beef, QR|RD, RA|SERVFAIL", r[:4])
	}
	if string(r[12:]) != string(q[12:]) {
		t.Errorf("question not echoed: % x", r[12:])
	}
	if r := servfail(withEDNS); r == nil || binary.BigEndian.Uint16(r[10:]) != 0 || len(r) != len(query(7, "a.b", 28)) {
		t.Errorf("servfail with EDNS: additional section kept: % x", r)
	}
	for name, bad := range map[string][]byte{
		"short":       q[:11],
		"response":    append([]byte{0, 1, 0x81, 0}, q[4:]...),
		"no question": append(append([]byte{}, q[:4]...), 0, 0, 0, 0, 0, 0, 0, 0),
		"truncated":   q[:len(q)-2],
		"pointer":     append(append([]byte{}, q[:12]...), 0xc0, 12, 0, 1, 0, 1),
	} {
		if r := servfail(bad); r != nil {
			t.Errorf("%s: servfail = % x, want nil", name, r)
		}
	}
}

func FuzzServfail(f *testing.F) {
	f.Add(query(1, "example.test", 1))
	f.Add([]byte{})
	f.Add(make([]byte, 12))
	f.Fuzz(func(t *testing.T, q []byte) {
		r := servfail(q)
		if r != nil && (len(r) > len(q) || r[0] != q[0] || r[1] != q[1] || r[3]&0x0f != 2) {
			t.Fatalf("servfail(% x) = % x", q, r)
		}
	})
}
