package limits

import (
	"encoding/binary"
	"reflect"
	"testing"
)

func TestMessageRoundTrip(t *testing.T) {
	in := &message{
		Type: msgMethodCall, Serial: 7, Destination: systemdName, Path: systemdPath,
		Interface: managerIface, Member: "StartTransientUnit",
		Body: []any{"x.scope", "fail", scopeProperties(ScopeRequest{Description: "d", PIDs: []uint32{1, 2}}, true), []auxUnit{}},
	}
	b, err := encodeMessage(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if out.Type != in.Type || out.Serial != 7 || out.Destination != systemdName || out.Path != systemdPath ||
		out.Interface != managerIface || out.Member != "StartTransientUnit" || out.Signature != "ssa(sv)a(sa(sv))" {
		t.Fatalf("header: %+v", out)
	}
	want := []any{"x.scope", "fail", []any{
		[]any{"Description", "d"},
		[]any{"PIDs", []any{uint32(1), uint32(2)}},
		[]any{"Delegate", true},
		[]any{"CollectMode", "inactive-or-failed"},
		[]any{"OOMPolicy", "continue"},
	}, []any{}}
	if !reflect.DeepEqual(out.Body, want) {
		t.Errorf("body:\n got %#v\nwant %#v", out.Body, want)
	}
}

func TestMessageTypes(t *testing.T) {
	body := []any{byte(3), true, int32(-2), uint32(5), int64(-7), uint64(1 << 40), "s", objectPath("/o"), signature("a{sv}"), []string{"a", "b"}, variant{uint64(9)}}
	b, err := encodeMessage(&message{Type: msgSignal, Serial: 1, Path: "/p", Interface: "i.f", Member: "M", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	m, err := decodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{byte(3), true, int32(-2), uint32(5), int64(-7), uint64(1 << 40), "s", "/o", "a{sv}", []any{"a", "b"}, uint64(9)}
	if m.Signature != "ybiuxtsogasv" || !reflect.DeepEqual(m.Body, want) {
		t.Errorf("%q %#v", m.Signature, m.Body)
	}
}

// TestDecodeBigEndian: a peer may write big-endian; the signal here is
// JobRemoved's body, built by hand.
func TestDecodeBigEndian(t *testing.T) {
	be := binary.BigEndian
	var body []byte
	body = be.AppendUint32(body, 42)
	str := func(b []byte, s string) []byte {
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		b = be.AppendUint32(b, uint32(len(s)))
		return append(append(b, s...), 0)
	}
	body = str(body, "/job/1")
	body = str(body, "u.scope")
	body = str(body, "done")
	var fields []byte
	fields = append(fields, fieldMember, 1, 's', 0)
	fields = str(fields, "JobRemoved")
	for len(fields)%8 != 0 {
		fields = append(fields, 0)
	}
	fields = append(fields, fieldSignature, 1, 'g', 0, 4, 'u', 'o', 's', 's', 0)
	h := []byte{'B', msgSignal, 0, 1}
	h = be.AppendUint32(h, uint32(len(body)))
	h = be.AppendUint32(h, 3)
	h = be.AppendUint32(h, uint32(len(fields)))
	h = append(h, fields...)
	for len(h)%8 != 0 {
		h = append(h, 0)
	}
	m, err := decodeMessage(append(h, body...))
	if err != nil {
		t.Fatal(err)
	}
	if m.Member != "JobRemoved" || !reflect.DeepEqual(m.Body, []any{uint32(42), "/job/1", "u.scope", "done"}) {
		t.Errorf("%+v", m)
	}
}

func TestNextType(t *testing.T) {
	for _, c := range []struct{ sig, first, rest string }{
		{"s", "s", ""},
		{"ssa(sv)a(sa(sv))", "s", "sa(sv)a(sa(sv))"},
		{"a(sv)a(sa(sv))", "a(sv)", "a(sa(sv))"},
		{"a(sa(sv))", "a(sa(sv))", ""},
		{"a{sv}u", "a{sv}", "u"},
		{"aay", "aay", ""},
		{"(i(ii))x", "(i(ii))", "x"},
	} {
		first, rest, err := nextType(c.sig)
		if err != nil || first != c.first || rest != c.rest {
			t.Errorf("nextType(%q) = %q, %q, %v; want %q, %q", c.sig, first, rest, err, c.first, c.rest)
		}
	}
	for _, bad := range []string{"", "a", "(", "()", "(s", "z", "a{s"} {
		if _, _, err := nextType(bad); err == nil {
			t.Errorf("nextType(%q) accepted", bad)
		}
	}
}

// TestDecodeMalformed: cut or corrupted messages are errors, not panics or
// huge allocations.
func TestDecodeMalformed(t *testing.T) {
	good, err := encodeMessage(&message{Type: msgMethodReturn, Serial: 2, ReplySerial: 1, Body: []any{objectPath("/j"), []uint32{1, 2, 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeMessage(good); err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(good); n++ {
		if _, err := decodeMessage(good[:n]); err == nil {
			t.Errorf("a message cut to %d of %d bytes decoded", n, len(good))
		}
	}
	for i := range good {
		b := append([]byte(nil), good...)
		b[i] ^= 0xff
		decodeMessage(b) // must not panic
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, m := range []*message{
		{Type: msgSignal, Serial: 1, Path: "/p", Interface: "i", Member: "JobRemoved", Body: []any{uint32(1), objectPath("/j"), "u", "done"}},
		{Type: msgError, Serial: 3, ReplySerial: 2, ErrorName: "org.x.Error", Body: []any{"no"}},
		{Type: msgMethodCall, Serial: 9, Body: []any{scopeProperties(ScopeRequest{PIDs: []uint32{1}}, true), variant{[]string{"x"}}}},
	} {
		b, err := encodeMessage(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err == nil && m == nil {
			t.Fatal("nil message without an error")
		}
	})
}

func TestUnixSocketPath(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"unix:path=/run/user/1000/bus", "/run/user/1000/bus"},
		{"unix:path=/tmp/d/bus,guid=0123abcd", "/tmp/d/bus"},
		{"unix:guid=0123,path=/a%20b/bus", "/a b/bus"},
		{"unix:abstract=/tmp/dbus-x,guid=1", "@/tmp/dbus-x"},
		{"tcp:host=localhost,port=1;unix:path=/s", "/s"},
	} {
		got, err := unixSocketPath(c.addr)
		if err != nil || got != c.want {
			t.Errorf("unixSocketPath(%q) = %q, %v; want %q", c.addr, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "tcp:host=x,port=1", "unix:tmpdir=/tmp", "unix:path=/a%2"} {
		if _, err := unixSocketPath(bad); err == nil {
			t.Errorf("unixSocketPath(%q) accepted", bad)
		}
	}
}
