package dns

import (
	"net/netip"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"sandbox/net/policy"
)

func FuzzHandle(f *testing.F) {
	for _, q := range []struct {
		name string
		typ  dnsmessage.Type
		edns bool
	}{
		{"www.example.com.", dnsmessage.TypeA, false},
		{"alias.example.com.", dnsmessage.TypeAAAA, true},
		{"cloaked.example.com.", dnsmessage.TypeA, true},
		{"denied.example.com.", dnsmessage.TypeA, true},
		{"www.example.com.", dnsmessage.TypeHTTPS, false},
		{".", dnsmessage.TypeNS, false},
	} {
		f.Add(buildTestQuery(f, q.name, q.typ, queryOpts{id: 1, edns: q.edns}))
	}
	f.Add([]byte{})
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1}) // a name pointing at itself
	up := newFakeUpstream(f)
	p, err := policy.New(policy.Options{Allow: []string{"*.example.com"}, Deny: []string{"denied.example.com", "*.tracker.test"}})
	if err != nil {
		f.Fatal(err)
	}
	r := New(p, []netip.AddrPort{up.addr}, nil)
	f.Fuzz(func(t *testing.T, msg []byte) {
		resp, err := r.Handle(msg)
		if err != nil {
			return
		}
		var m dnsmessage.Parser
		h, err := m.Start(resp)
		if err != nil {
			t.Fatalf("Handle(%x) answered %x, which does not parse: %v", msg, resp, err)
		}
		if !h.Response || h.ID != uint16(msg[0])<<8|uint16(msg[1]) {
			t.Errorf("Handle(%x) answered header %+v", msg, h)
		}
	})
}
