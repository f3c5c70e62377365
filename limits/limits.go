// Package limits enforces the sandbox's resource limits: cgroup v2 limits
// in a transient systemd scope of the user's own manager (over D-Bus), or in
// a cgroup directory already delegated to the user, plus rlimits and the
// wall-clock timeout (which the runtime drives).
//
// Order (see Enter): a scope from the user's systemd, else a delegated
// directory, else an *UnavailableError, which the caller turns into a
// refusal or, with --limits best-effort, into a warning that names every
// limit not enforced. Nothing here runs unless a cgroup limit was asked for.
package limits

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"sandbox/spec"
)

// Mount is where the cgroup v2 hierarchy is mounted.
const Mount = "/sys/fs/cgroup"

// UnavailableError says that no cgroup could be had, and why for each way
// that was tried.
type UnavailableError struct {
	Reasons []string
}

func (e *UnavailableError) Error() string {
	return "cannot enforce cgroup limits: " + strings.Join(e.Reasons, "; ")
}

// Hint is the fix.
func (e *UnavailableError) Hint() string {
	return "run in a systemd user session (for ssh logins and services: loginctl enable-linger $USER), or add --limits best-effort to run without these limits"
}

// Env is the host as Enter sees it; DefaultEnv is the real one.
type Env struct {
	Getenv func(string) string
	UID    int
	// Mount is the cgroup v2 mount point.
	Mount string
	// SelfCgroup is this process's cgroup path ("/user.slice/...").
	SelfCgroup func() (string, error)
	// PidCgroup is a process's cgroup path.
	PidCgroup func(pid int) (string, error)
	// Buses are the manager's addresses; nil means FindBuses.
	Buses []Bus
}

// DefaultEnv is the running host.
func DefaultEnv() Env {
	return Env{
		Getenv:     os.Getenv,
		UID:        os.Getuid(),
		Mount:      Mount,
		SelfCgroup: func() (string, error) { return pidCgroup("self") },
		PidCgroup:  func(pid int) (string, error) { return pidCgroup(strconv.Itoa(pid)) },
	}
}

// Request is one sandbox's limits.
type Request struct {
	Limits spec.Limits
	// PID is the process to move: the sandbox's init.
	PID int
	// PIDIsProgram: PID becomes the program (no separate init), so it goes
	// into the payload leaf itself.
	PIDIsProgram bool
	// Description names the scope in systemctl --user status.
	Description string
}

// Enter puts r.PID into a new cgroup that carries the limits and returns
// it. On error nothing of the cgroup is left except a systemd scope whose
// process the caller kills (systemd then removes it).
func Enter(ctx context.Context, env Env, r Request) (*Tree, error) {
	if !isCgroup2(env.Mount) {
		return nil, &UnavailableError{Reasons: []string{env.Mount + " is not a cgroup v2 hierarchy (this host uses cgroup v1 or the hybrid layout; boot with systemd.unified_cgroup_hierarchy=1)"}}
	}
	var reasons []string
	buses := env.Buses
	if buses == nil {
		buses = FindBuses(env.Getenv, env.UID)
	}
	if len(buses) == 0 {
		reasons = append(reasons, "no systemd user manager (no $XDG_RUNTIME_DIR/systemd/private, no session bus)")
	}
	ways := make([]func() (*Tree, error), 0, len(buses)+1)
	for _, bus := range buses {
		ways = append(ways, func() (*Tree, error) { return enterScope(ctx, env, bus, r) })
	}
	ways = append(ways, func() (*Tree, error) { return enterDelegated(env, r) })
	for _, enter := range ways {
		t, err := enter()
		if err == nil {
			return t, nil
		}
		// A cgroup was had but lacks a controller: another way would
		// lack it too (they all sit under the user's delegation).
		var me *MissingError
		if errors.As(err, &me) {
			return nil, err
		}
		reasons = append(reasons, err.Error())
	}
	return nil, &UnavailableError{Reasons: reasons}
}

func enterScope(ctx context.Context, env Env, bus Bus, r Request) (*Tree, error) {
	name := fmt.Sprintf("sandbox-%d-%s.scope", r.PID, randomHex(4))
	ctx, cancel := context.WithTimeout(ctx, ScopeTimeout)
	defer cancel()
	req := ScopeRequest{Name: name, Description: r.Description, PIDs: []uint32{uint32(r.PID)}}
	if err := StartScope(ctx, bus, req); err != nil {
		return nil, fmt.Errorf("systemd user manager at %s: %w", strings.TrimPrefix(bus.Address, "unix:path="), err)
	}
	cg, err := env.PidCgroup(r.PID)
	if err != nil {
		return nil, err
	}
	if path.Base(cg) != name {
		return nil, fmt.Errorf("systemd started %s but the sandbox is in %s", name, cg)
	}
	t := &Tree{Dir: filepath.Join(env.Mount, cg), Via: "systemd scope " + name, Unit: name}
	avail, err := words(filepath.Join(t.Dir, "cgroup.controllers"))
	if err != nil {
		return nil, err
	}
	if err := t.populate(r.Limits, r.PID, r.PIDIsProgram, avail); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// enterDelegated makes the sandbox's cgroup under the nearest ancestor of
// this process's cgroup that the user owns and that holds no process of its
// own (a cgroup with processes cannot pass controllers down).
func enterDelegated(env Env, r Request) (*Tree, error) {
	self, err := env.SelfCgroup()
	if err != nil {
		return nil, err
	}
	parent, err := findDelegated(env.Mount, self, env.UID)
	if err != nil {
		return nil, err
	}
	sweep(parent)
	need := map[string]bool{}
	for _, c := range accounting {
		need[c] = true
	}
	for _, f := range Files(r.Limits) {
		need[f.Controller()] = true
	}
	avail, err := words(filepath.Join(parent, "cgroup.controllers"))
	if err != nil {
		return nil, err
	}
	enabled, err := words(filepath.Join(parent, "cgroup.subtree_control"))
	if err != nil {
		return nil, err
	}
	for _, c := range avail {
		if need[c] && !slices.Contains(enabled, c) {
			if writeFile(filepath.Join(parent, "cgroup.subtree_control"), "+"+c) == nil {
				enabled = append(enabled, c)
			}
		}
	}
	t := &Tree{Dir: filepath.Join(parent, fmt.Sprintf("sandbox-%d-%s", r.PID, randomHex(4))), own: true}
	t.Via = "delegated cgroup " + t.Dir
	if err := mkdir(t.Dir); err != nil {
		return nil, err
	}
	if err := t.populate(r.Limits, r.PID, r.PIDIsProgram, enabled); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// findDelegated walks up from self while the cgroups belong to uid (their
// directory, cgroup.procs and cgroup.subtree_control, as delegation leaves
// them) and returns the first one without processes.
func findDelegated(mount, self string, uid int) (string, error) {
	for d := path.Dir(self); d != "/" && d != "."; d = path.Dir(d) {
		dir := filepath.Join(mount, d)
		if !ownedBy(uid, dir, filepath.Join(dir, "cgroup.procs"), filepath.Join(dir, "cgroup.subtree_control")) {
			break
		}
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err == nil && len(strings.TrimSpace(string(b))) == 0 {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no cgroup delegated to uid %d above %s", uid, self)
}

func ownedBy(uid int, paths ...string) bool {
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil || int(st.Sys().(*syscall.Stat_t).Uid) != uid {
			return false
		}
	}
	return true
}

// sweep removes what a sandbox killed with -9 left in a delegated parent:
// its empty directories, recognised by the name and a dead pid.
func sweep(parent string) {
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), "sandbox-")
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || unix.Kill(pid, 0) != unix.ESRCH {
			continue
		}
		t := &Tree{Dir: filepath.Join(parent, e.Name()), own: true}
		for _, d := range []string{t.Payload(), t.Supervisor(), t.Dir} {
			rmdir(d)
		}
	}
}

// pidCgroup reads a process's cgroup v2 path from /proc/PID/cgroup.
func pidCgroup(pid string) (string, error) {
	b, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("/proc/%s/cgroup has no cgroup v2 entry", pid)
}

func isCgroup2(p string) bool {
	var st unix.Statfs_t
	return unix.Statfs(p, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// randomHex is n random bytes in hex, from getrandom(2) directly: crypto/rand
// would link a dozen FIPS packages whose initialisation every sandbox start
// pays for.
func randomHex(n int) string {
	b := make([]byte, n)
	for got := 0; got < n; {
		k, err := unix.Getrandom(b[got:], 0)
		if err != nil && err != unix.EINTR {
			break // the name stays unique enough with the pid in it
		}
		got += max(k, 0)
	}
	return hex.EncodeToString(b)
}

// NotEnforced lists, for --limits best-effort, each cgroup limit that l asks
// for, as "--flag (file)".
func NotEnforced(l spec.Limits) []string {
	var out []string
	for _, f := range Files(l) {
		out = append(out, f.Flag+" ("+f.Name+")")
	}
	return out
}
