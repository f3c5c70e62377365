package limits

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// stubManager plays the part of systemd's Manager object on a private
// dbus-daemon: it records StartTransientUnit requests and finishes their
// jobs with a JobRemoved signal, as systemd does.
type stubManager struct {
	conn *dbus.Conn
	mu   sync.Mutex
	// calls are the requests' properties by name, one map per call.
	calls []map[string]any
	// rejectOOMPolicy answers like systemd < 253 does for scopes.
	rejectOOMPolicy bool
	// result is the job's result ("done" unless set); silent sends none.
	result string
	silent bool
	subs   int
}

// set changes the stub's behaviour; the stub's methods run in godbus's
// goroutines.
func (m *stubManager) set(f func(*stubManager)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m)
}

// snapshot returns the calls and subscriptions so far.
func (m *stubManager) snapshot() ([]map[string]any, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]map[string]any(nil), m.calls...), m.subs
}

func (m *stubManager) Subscribe() *dbus.Error {
	m.mu.Lock()
	m.subs++
	m.mu.Unlock()
	return nil
}

// stubProperty and stubAux are the (sv) and (sa(sv)) of StartTransientUnit
// as godbus decodes them.
type stubProperty struct {
	Name  string
	Value dbus.Variant
}

type stubAux struct {
	Name  string
	Props []stubProperty
}

func (m *stubManager) StartTransientUnit(name, mode string, props []stubProperty, aux []stubAux) (dbus.ObjectPath, *dbus.Error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	got := map[string]any{"_name": name, "_mode": mode}
	for _, p := range props {
		got[p.Name] = p.Value.Value()
	}
	m.calls = append(m.calls, got)
	if _, ok := got["OOMPolicy"]; ok && m.rejectOOMPolicy {
		return "", dbus.NewError("org.freedesktop.DBus.Error.PropertyReadOnly", []any{"Cannot set property OOMPolicy, or unknown property."})
	}
	job := dbus.ObjectPath("/org/freedesktop/systemd1/job/" + string(rune('0'+len(m.calls))))
	if !m.silent {
		res := m.result
		if res == "" {
			res = "done"
		}
		go func() {
			// Another job's removal first: it must be ignored.
			m.conn.Emit(dbus.ObjectPath(systemdPath), managerIface+".JobRemoved", uint32(98), dbus.ObjectPath("/org/freedesktop/systemd1/job/other"), "other.scope", "failed")
			m.conn.Emit(dbus.ObjectPath(systemdPath), managerIface+".JobRemoved", uint32(99), job, name, res)
		}()
	}
	return job, nil
}

// privateBus starts a dbus-daemon of its own for the test and a stub
// manager on it under systemd's name.
func privateBus(t *testing.T) (Bus, *stubManager) { return startBus(t, true) }

func startBus(t *testing.T, own bool) (Bus, *stubManager) {
	t.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		t.Fatal("dbus-daemon is needed (Debian package dbus-daemon; scripts/test installs it)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "bus.conf")
	os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path=`+dir+`/bus</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>`), 0o644)
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon: %v", err)
	}
	bus := Bus{Address: strings.TrimSpace(addr)}
	conn, err := dialGodbus(bus)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	m := &stubManager{conn: conn}
	if !own {
		return bus, m
	}
	if err := conn.Export(m, dbus.ObjectPath(systemdPath), managerIface); err != nil {
		t.Fatal(err)
	}
	if r, err := conn.RequestName(systemdName, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v %v", systemdName, r, err)
	}
	return bus, m
}

// dialGodbus connects the stub's side with godbus, an independent
// implementation of the protocol that StartScope speaks with its own.
func dialGodbus(bus Bus) (*dbus.Conn, error) {
	conn, err := dbus.Dial(bus.Address)
	if err != nil {
		return nil, err
	}
	if err := conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		conn.Close()
		return nil, err
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func TestStartScope(t *testing.T) {
	bus, m := privateBus(t)
	req := ScopeRequest{Name: "sandbox-1-ab.scope", Description: "sandbox: sleep 1", PIDs: []uint32{4242}}
	if err := StartScope(t.Context(), bus, req); err != nil {
		t.Fatal(err)
	}
	calls, subs := m.snapshot()
	if len(calls) != 1 || subs != 1 {
		t.Fatalf("calls %d, subscribes %d; want 1 and 1", len(calls), subs)
	}
	c := calls[0]
	want := map[string]any{
		"_name": "sandbox-1-ab.scope", "_mode": "fail", "Description": "sandbox: sleep 1",
		"PIDs": []uint32{4242}, "Delegate": true, "CollectMode": "inactive-or-failed", "OOMPolicy": "continue",
	}
	for k, v := range want {
		if got := c[k]; !equal(got, v) {
			t.Errorf("property %s = %#v, want %#v", k, got, v)
		}
	}
	if len(c) != len(want) {
		t.Errorf("unexpected properties: %v", c)
	}
}

func equal(a, b any) bool {
	if x, ok := a.([]uint32); ok {
		y, _ := b.([]uint32)
		return len(x) == len(y) && len(x) == 1 && x[0] == y[0]
	}
	return a == b
}

func TestStartScopeOldSystemd(t *testing.T) {
	bus, m := privateBus(t)
	m.set(func(m *stubManager) { m.rejectOOMPolicy = true })
	if err := StartScope(t.Context(), bus, ScopeRequest{Name: "s.scope", PIDs: []uint32{1}}); err != nil {
		t.Fatal(err)
	}
	calls, _ := m.snapshot()
	if len(calls) != 2 {
		t.Fatalf("%d calls, want a retry without OOMPolicy", len(calls))
	}
	if _, ok := calls[1]["OOMPolicy"]; ok {
		t.Error("the retry still sets OOMPolicy")
	}
	if calls[1]["Delegate"] != true {
		t.Error("the retry lost Delegate")
	}
}

func TestStartScopeFailures(t *testing.T) {
	bus, m := privateBus(t)
	m.set(func(m *stubManager) { m.result = "failed" })
	err := StartScope(t.Context(), bus, ScopeRequest{Name: "f.scope", PIDs: []uint32{1}})
	if err == nil || !strings.Contains(err.Error(), `job result "failed"`) {
		t.Errorf("failed job: %v", err)
	}
	m.set(func(m *stubManager) { m.result, m.silent = "", true })
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err = StartScope(ctx, bus, ScopeRequest{Name: "g.scope", PIDs: []uint32{1}})
	if err == nil || !strings.Contains(err.Error(), "in time") {
		t.Errorf("no answer: %v", err)
	}
	// Nobody owns the manager's name on this bus: refused, not hung.
	bus2, _ := startBus(t, false)
	err = StartScope(t.Context(), bus2, ScopeRequest{Name: "h.scope", PIDs: []uint32{1}})
	if err == nil {
		t.Error("a bus without systemd accepted the scope")
	}
	// No bus at all.
	if err := StartScope(t.Context(), Bus{Address: "unix:path=" + t.TempDir() + "/none"}, ScopeRequest{Name: "i.scope"}); err == nil {
		t.Error("a missing socket gave no error")
	}
}
