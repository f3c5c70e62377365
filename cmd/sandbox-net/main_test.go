package main

import (
	"bytes"
	"strings"
	"testing"

	"sandbox/net/vnet"
	"sandbox/spec"
)

func TestReadRequest(t *testing.T) {
	want := vnet.Request{Fingerprint: vnet.RequestFingerprint(), Parent: 42, Log: true, LogPrefix: "<6>sandbox: ",
		Net: spec.Net{Mode: spec.NetUser, Allow: []string{"example.org"}, Deny: []string{"203.0.113.0/24"}, DNS: []string{"198.51.100.53"}}}
	b, err := spec.MarshalWire(&want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readRequest(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got.Parent != 42 || !got.Log || got.LogPrefix != want.LogPrefix || got.Net.Allow[0] != "example.org" || got.Net.Deny[0] != "203.0.113.0/24" || got.Net.DNS[0] != "198.51.100.53" {
		t.Errorf("readRequest = %+v, want %+v", got, want)
	}

	// A parent built from other sources: refused, whatever else it says.
	other := want
	other.Fingerprint = "0123456789abcdef"
	b, _ = spec.MarshalWire(&other)
	if _, err := readRequest(bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), "go generate") {
		t.Errorf("another fingerprint: err = %v, want the rebuild hint", err)
	}
	for name, in := range map[string][]byte{"empty": nil, "truncated": b[:len(b)/2], "trailing": append(append([]byte{}, b...), 0)} {
		if _, err := readRequest(bytes.NewReader(in)); err == nil {
			t.Errorf("%s request: no error", name)
		}
	}
}
