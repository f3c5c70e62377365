package limits

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// The user's systemd manager, on the bus or on its private socket.
const (
	systemdName  = "org.freedesktop.systemd1"
	systemdPath  = dbus.ObjectPath("/org/freedesktop/systemd1")
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
func scopeProperties(r ScopeRequest, oomPolicy bool) []property {
	props := []property{
		{"Description", dbus.MakeVariant(r.Description)},
		{"PIDs", dbus.MakeVariant(r.PIDs)},
		{"Delegate", dbus.MakeVariant(true)},
		{"CollectMode", dbus.MakeVariant("inactive-or-failed")},
	}
	if oomPolicy {
		props = append(props, property{"OOMPolicy", dbus.MakeVariant("continue")})
	}
	return props
}

// property is D-Bus's (sv), one unit property.
type property struct {
	Name  string
	Value dbus.Variant
}

// auxUnit is D-Bus's (sa(sv)), an auxiliary unit (always none here).
type auxUnit struct {
	Name       string
	Properties []property
}

// StartScope asks the user's manager on bus for the scope and waits until
// its job has finished, so that the processes are in the scope's cgroup on
// return. A systemd that does not know OOMPolicy for scopes refuses the
// property by name; the request is then repeated without it.
func StartScope(ctx context.Context, bus Bus, r ScopeRequest) error {
	conn, err := dialBus(ctx, bus)
	if err != nil {
		return err
	}
	defer conn.Close()
	signals := make(chan *dbus.Signal, 16)
	conn.Signal(signals)
	if !bus.Direct {
		if err := conn.AddMatchSignalContext(ctx, dbus.WithMatchInterface(managerIface), dbus.WithMatchMember("JobRemoved")); err != nil {
			return fmt.Errorf("subscribe to systemd's job signals: %w", err)
		}
	}
	mgr := conn.Object(systemdName, systemdPath)
	// Subscribe: the manager then sends its signals to this connection
	// (needed on the private socket, harmless on the bus).
	if err := mgr.CallWithContext(ctx, managerIface+".Subscribe", 0).Err; err != nil {
		return fmt.Errorf("subscribe to systemd: %w", err)
	}
	var job dbus.ObjectPath
	call := func(oom bool) error {
		return mgr.CallWithContext(ctx, managerIface+".StartTransientUnit", 0,
			r.Name, "fail", scopeProperties(r, oom), []auxUnit{}).Store(&job)
	}
	err = call(true)
	if err != nil && strings.Contains(err.Error(), "OOMPolicy") {
		err = call(false)
	}
	if err != nil {
		return fmt.Errorf("systemd refused the scope %s: %w", r.Name, err)
	}
	for {
		select {
		case sig, ok := <-signals:
			if !ok {
				return errors.New("the connection to systemd closed while the scope started")
			}
			if sig.Name != managerIface+".JobRemoved" || len(sig.Body) < 4 {
				continue
			}
			if p, _ := sig.Body[1].(dbus.ObjectPath); p != job {
				continue
			}
			if res, _ := sig.Body[3].(string); res != "done" {
				return fmt.Errorf("systemd could not start the scope %s: job result %q", r.Name, res)
			}
			return nil
		case <-ctx.Done():
			return fmt.Errorf("systemd did not start the scope %s in time: %w", r.Name, ctx.Err())
		}
	}
}

func dialBus(ctx context.Context, bus Bus) (*dbus.Conn, error) {
	conn, err := dbus.Dial(bus.Address, dbus.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	// EXTERNAL with the numeric uid: no user name lookup (no libc).
	if err := conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		conn.Close()
		return nil, err
	}
	if !bus.Direct {
		if err := conn.Hello(); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return conn, nil
}

// ScopeTimeout bounds the whole exchange with systemd.
const ScopeTimeout = 10 * time.Second
