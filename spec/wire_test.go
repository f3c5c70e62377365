package spec

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fullSpec has every kind of field the wire form must carry.
func fullSpec() *Spec {
	s := New(Sandbox)
	s.Namespaces = Namespaces{User: true, PID: true, Net: true, Cgroup: true}
	s.UID, s.GID = 0, -1
	s.Hostname, s.HostnameSet = "h\xff\x00st", true
	s.Ops = []Op{{Kind: OpBind, Source: "/a\xfe", Dest: "/b", FD: NoFD, Perms: 0o755}, {Kind: OpTmpfs, Dest: "/tmp", Size: 1 << 40}}
	s.Env = []EnvOp{{Kind: EnvSet, Name: "A", Value: ""}}
	s.Command = []string{"sh", "-c", "é\x80"}
	s.Net = Net{Mode: NetUser, Publish: []Publish{{"tcp", netip.MustParseAddrPort("[::1]:8080"), 80}}, Allow: []string{}}
	s.Limits = Limits{Memory: 1 << 30, Timeout: 1500 * time.Millisecond, Rlimits: []Rlimit{{Name: "nofile", Resource: 7, Soft: Unlimited, Hard: Unlimited}}}
	s.SeccompFDs = []int{-1, 3, 1 << 31}
	return s
}

// encodeDecode is s through the wire form and back.
func encodeDecode(t testing.TB, s *Spec) *Spec {
	t.Helper()
	b, err := s.Encode()
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	d, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode(%x): %v", b, err)
	}
	return d
}

func TestWireRoundTrip(t *testing.T) {
	s := fullSpec()
	d := encodeDecode(t, s)
	if !reflect.DeepEqual(s, d) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", d, s)
	}
	// nil and empty slices stay apart; a zero AddrPort survives.
	if d.Net.Allow == nil || d.Net.Deny != nil {
		t.Errorf("nil/empty: allow %#v deny %#v", d.Net.Allow, d.Net.Deny)
	}
	type withPtr struct {
		P, Q *Limits
		A    [3]uint16
		F    float64
		Z    netip.AddrPort
	}
	in := withPtr{P: &Limits{Pids: 3}, A: [3]uint16{1, 65535, 0}, F: 0.25}
	wb, err := MarshalWire(&in)
	if err != nil {
		t.Fatal(err)
	}
	var out withPtr
	if err := UnmarshalWire(wb, &out); err != nil || !reflect.DeepEqual(in, out) {
		t.Fatalf("pointers/arrays: %v %+v", err, out)
	}
}

func TestWireRefusesBadInput(t *testing.T) {
	b, _ := fullSpec().Encode()
	// Every truncation fails cleanly (no panic, no huge allocation).
	for i := 0; i < len(b); i++ {
		if _, err := Decode(b[:i]); err == nil {
			t.Fatalf("a message cut at %d of %d bytes decoded", i, len(b))
		}
	}
	if _, err := Decode(append(b, 0)); err == nil || !strings.Contains(err.Error(), "trailing") {
		t.Errorf("trailing byte: %v", err)
	}
	// A length far beyond the message.
	type S struct{ X []string }
	if err := UnmarshalWire([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, &S{}); err == nil {
		t.Error("huge length accepted")
	}
	// A value that does not fit its field.
	type U8 struct{ X uint8 }
	if err := UnmarshalWire([]byte{0xac, 0x02}, &U8{}); err == nil || !strings.Contains(err.Error(), "overflows") {
		t.Errorf("overflow: %v", err)
	}
	type M struct{ X map[string]int }
	if _, err := MarshalWire(&M{}); err == nil {
		t.Error("a map encoded (unsupported kinds must be refused)")
	}
}

func FuzzWireDecode(f *testing.F) {
	b, _ := fullSpec().Encode()
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err != nil {
			return
		}
		// What decodes survives a round trip unchanged (the input itself
		// may be non-canonical: long varints, bool bytes other than 0/1).
		again, err := s.Encode()
		if err != nil {
			t.Fatal(err)
		}
		d, err := Decode(again)
		if err != nil || !reflect.DeepEqual(s, d) {
			t.Fatalf("round trip differs: %v", err)
		}
	})
}
