package limits

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The user's systemd manager, on the bus or on its private socket.
const (
	systemdName  = "org.freedesktop.systemd1"
	systemdPath  = objectPath("/org/freedesktop/systemd1")
	managerIface = "org.freedesktop.systemd1.Manager"
)

// Bus says where the user's systemd manager can be reached.
type Bus struct {
	// Address is a D-Bus address ("unix:path=...").
	Address string
	// Direct: the manager's private socket, a peer-to-peer connection
	// without a bus daemon (no Hello, no match rules), as systemctl --user
	// uses it.
	Direct bool
}

// FindBuses lists where the user's manager may answer, best first: its
// private socket ($XDG_RUNTIME_DIR/systemd/private), then the session bus
// ($DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus). Only sockets that
// exist are listed; a bus address from the environment is taken as is. No
// bus is ever auto-launched (that would leave a daemon behind).
func FindBuses(getenv func(string) string, uid int) []Bus {
	rt := getenv("XDG_RUNTIME_DIR")
	if rt == "" {
		rt = "/run/user/" + strconv.Itoa(uid)
	}
	var out []Bus
	if isSocket(filepath.Join(rt, "systemd/private")) {
		out = append(out, Bus{Address: "unix:path=" + filepath.Join(rt, "systemd/private"), Direct: true})
	}
	if a := getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && !strings.Contains(a, "autolaunch:") {
		out = append(out, Bus{Address: a})
	} else if isSocket(filepath.Join(rt, "bus")) {
		out = append(out, Bus{Address: "unix:path=" + filepath.Join(rt, "bus")})
	}
	return out
}

func isSocket(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode()&os.ModeSocket != 0
}

// ScopeRequest is a transient scope to create around running processes.
type ScopeRequest struct {
	// Name is the unit name, ending in ".scope".
	Name        string
	Description string
	PIDs        []uint32
}

// scopeProperties are the StartTransientUnit properties of a sandbox's
// scope. Delegate: the sandbox manages the cgroups below the scope itself
// (the program's leaf with the limits, init's leaf without). OOMPolicy=
// continue: an OOM kill inside must not make systemd stop the whole scope
// (the sandbox reports it instead). CollectMode: a failed scope must not
// linger either. The limits are not properties: they are written on the
// program's own leaf so that init's threads and memory do not count.
func scopeProperties(r ScopeRequest, oomPolicy bool) []unitProperty {
	props := []unitProperty{
		{"Description", r.Description},
		{"PIDs", r.PIDs},
		{"Delegate", true},
		{"CollectMode", "inactive-or-failed"},
	}
	if oomPolicy {
		props = append(props, unitProperty{"OOMPolicy", "continue"})
	}
	return props
}

// unitProperty is D-Bus's (sv), one unit property; Value is one of the Go
// types dbuswire.go encodes.
type unitProperty struct {
	Name  string
	Value any
}

// auxUnit is D-Bus's (sa(sv)), an auxiliary unit (always none here).
type auxUnit struct{}

// StartScope asks the user's manager on bus for the scope and waits until
// its job has finished, so that the processes are in the scope's cgroup on
// return. A systemd that does not know OOMPolicy for scopes refuses the
// property by name; the request is then repeated without it.
func StartScope(ctx context.Context, bus Bus, r ScopeRequest) error {
	conn, err := dialBus(ctx, bus)
	if err != nil {
		return scopeError(ctx, r, err)
	}
	defer conn.Close()
	if !bus.Direct {
		rule := "type='signal',interface='" + managerIface + "',member='JobRemoved'"
		if _, err := conn.call(ctx, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", rule); err != nil {
			return scopeError(ctx, r, fmt.Errorf("subscribe to systemd's job signals: %w", err))
		}
	}
	// Subscribe: the manager then sends its signals to this connection
	// (needed on the private socket, harmless on the bus).
	if _, err := conn.call(ctx, systemdName, systemdPath, managerIface, "Subscribe"); err != nil {
		return scopeError(ctx, r, fmt.Errorf("subscribe to systemd: %w", err))
	}
	call := func(oom bool) ([]any, error) {
		return conn.call(ctx, systemdName, systemdPath, managerIface, "StartTransientUnit",
			r.Name, "fail", scopeProperties(r, oom), []auxUnit{})
	}
	reply, err := call(true)
	if err != nil && strings.Contains(err.Error(), "OOMPolicy") {
		reply, err = call(false)
	}
	if err != nil {
		return scopeError(ctx, r, fmt.Errorf("systemd refused the scope %s: %w", r.Name, err))
	}
	var job string
	if len(reply) == 1 {
		job, _ = reply[0].(string)
	}
	if job == "" {
		return fmt.Errorf("systemd answered the scope %s with no job", r.Name)
	}
	for {
		sig, err := conn.nextSignal(ctx)
		if err != nil {
			return scopeError(ctx, r, fmt.Errorf("wait for systemd to start the scope %s: %w", r.Name, err))
		}
		// JobRemoved(u id, o job, s unit, s result)
		if sig.Interface != managerIface || sig.Member != "JobRemoved" || len(sig.Body) < 4 {
			continue
		}
		if p, _ := sig.Body[1].(string); p != job {
			continue
		}
		if res, _ := sig.Body[3].(string); res != "done" {
			return fmt.Errorf("systemd could not start the scope %s: job result %q", r.Name, res)
		}
		return nil
	}
}

// scopeError is err, or the context's end when that is what stopped the
// exchange.
func scopeError(ctx context.Context, r ScopeRequest, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("systemd did not start the scope %s in time: %w", r.Name, ctx.Err())
	}
	return err
}

// ScopeTimeout bounds the whole exchange with systemd.
const ScopeTimeout = 10 * time.Second
