package limits

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"sandbox/spec"
)

func TestFiles(t *testing.T) {
	l := spec.Limits{Memory: 100 << 20, MemoryHigh: 80 << 20, MemorySwapSet: true, CPUMilli: 1500,
		CPUWeight: 50, Pids: 32, IOWeight: 200}
	got := Files(l)
	want := []File{
		{"memory.max", "104857600", "--memory"},
		{"memory.high", "83886080", "--memory-high"},
		{"memory.swap.max", "0", "--memory-swap"},
		{"cpu.max", "150000 100000", "--cpus"},
		{"cpu.weight", "50", "--cpu-weight"},
		{"pids.max", "32", "--pids"},
		{"io.weight", "default 200", "--io-weight"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Files:\n got %v\nwant %v", got, want)
	}
	if len(Files(spec.Limits{Timeout: 5})) != 0 {
		t.Error("a timeout alone writes cgroup files")
	}
	if n := NotEnforced(spec.Limits{Pids: 3, Memory: 1}); !reflect.DeepEqual(n, []string{"--memory (memory.max)", "--pids (pids.max)"}) {
		t.Errorf("NotEnforced = %q", n)
	}
}

// fakeTree replaces mkdir so that new cgroups get their interface files, as
// the kernel gives them.
func fakeTree(t *testing.T) string {
	old := mkdir
	mkdir = func(p string) error {
		if err := os.Mkdir(p, 0o755); err != nil {
			return err
		}
		for _, f := range []string{"cgroup.procs", "cgroup.subtree_control", "cgroup.controllers", "cgroup.kill",
			"memory.max", "memory.high", "pids.max", "cpu.max", "cpu.weight", "io.weight"} {
			if err := os.WriteFile(filepath.Join(p, f), nil, 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	oldRm := rmdir
	rmdir = func(p string) error {
		ents, _ := os.ReadDir(p)
		for _, e := range ents {
			if e.IsDir() {
				return os.Remove(p) // has a child cgroup: busy, as in the kernel
			}
		}
		return os.RemoveAll(p)
	}
	t.Cleanup(func() { mkdir, rmdir = old, oldRm })
	return t.TempDir()
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPopulate(t *testing.T) {
	root := fakeTree(t)
	scope := filepath.Join(root, "app.slice", "sandbox-1.scope")
	if err := os.MkdirAll(filepath.Dir(scope), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := mkdir(scope); err != nil {
		t.Fatal(err)
	}
	tr := &Tree{Dir: scope}
	l := spec.Limits{Memory: 64 << 20, Pids: 10, CPUMilli: 500}
	if err := tr.populate(l, 4242, false, []string{"cpu", "io", "memory", "pids"}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(tr.Supervisor(), "cgroup.procs")); got != "4242" {
		t.Errorf("init went to %q, want supervisor", got)
	}
	if got := read(t, filepath.Join(tr.Payload(), "cgroup.procs")); got != "" {
		t.Errorf("payload got %q before the program", got)
	}
	// Each controller is enabled with its own write; the fake file keeps the
	// last one, the list says all.
	if !reflect.DeepEqual(tr.Enabled, []string{"cpu", "memory", "pids"}) {
		t.Errorf("enabled %v, want cpu memory pids (io neither asked nor accounted)", tr.Enabled)
	}
	for f, want := range map[string]string{"memory.max": "67108864", "pids.max": "10", "cpu.max": "50000 100000"} {
		if got := read(t, filepath.Join(tr.Payload(), f)); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
	// Without a separate init the process is the program: payload.
	tr2 := &Tree{Dir: filepath.Join(root, "p2")}
	mkdir(tr2.Dir)
	if err := tr2.populate(spec.Limits{Pids: 1}, 77, true, []string{"pids"}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(tr2.Payload(), "cgroup.procs")); got != "77" {
		t.Errorf("program went to %q, want payload", got)
	}
	// A limit whose controller is not there fails with the flag named.
	tr3 := &Tree{Dir: filepath.Join(root, "p3")}
	mkdir(tr3.Dir)
	err := tr3.populate(spec.Limits{IOWeight: 10}, 1, false, []string{"memory", "pids"})
	var me *MissingError
	if !errors.As(err, &me) || me.Flag != "--io-weight" || me.Controller != "io" || !strings.Contains(me.Hint(), "Delegate=") {
		t.Fatalf("missing io: %v", err)
	}
	// Close removes the leaves; the scope itself is systemd's.
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tr.Payload()); !os.IsNotExist(err) {
		t.Error("payload left behind")
	}
	if _, err := os.Stat(scope); err != nil {
		t.Error("Close removed the scope's own directory")
	}
}

func TestUsage(t *testing.T) {
	tr := &Tree{Dir: t.TempDir()}
	os.Mkdir(tr.Payload(), 0o755)
	files := map[string]string{
		"memory.peak":   "1048576\n",
		"cpu.stat":      "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n",
		"memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n",
		"pids.events":   "max 7\n",
	}
	for f, v := range files {
		os.WriteFile(filepath.Join(tr.Payload(), f), []byte(v), 0o644)
	}
	if u := tr.Usage(); u != (Usage{MemoryPeak: 1 << 20, CPUUsec: 2500, OOMKills: 1, PidsRefused: 7}) {
		t.Errorf("Usage = %+v", u)
	}
	if u := (&Tree{Dir: t.TempDir()}).Usage(); u != (Usage{}) {
		t.Errorf("no files: %+v", u)
	}
}

// TestDelegated: the nearest owned ancestor without processes is used, its
// controllers are enabled, a directory of our own is made and removed, and
// what a killed sandbox left is swept.
func TestDelegated(t *testing.T) {
	root := fakeTree(t)
	for _, d := range []string{"user.slice", "user.slice/svc", "user.slice/svc/app.slice", "user.slice/svc/app.slice/term.scope"} {
		if err := mkdir(filepath.Join(root, d)); err != nil {
			t.Fatal(err)
		}
	}
	app := filepath.Join(root, "user.slice/svc/app.slice")
	os.WriteFile(filepath.Join(app, "cgroup.controllers"), []byte("cpu io memory pids\n"), 0o644)
	os.WriteFile(filepath.Join(app, "term.scope", "cgroup.procs"), []byte("1\n2\n"), 0o644)
	// A leftover of a sandbox whose init is dead, and one that is alive.
	dead := filepath.Join(app, "sandbox-2147483646-dead")
	alive := filepath.Join(app, "sandbox-"+strconv.Itoa(os.Getpid())+"-live")
	for _, d := range []string{dead, alive} {
		mkdir(d)
	}
	env := Env{UID: os.Getuid(), Mount: root, SelfCgroup: func() (string, error) { return "/user.slice/svc/app.slice/term.scope", nil }}
	tr, err := enterDelegated(env, Request{Limits: spec.Limits{Memory: 1 << 30}, PID: 99})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(tr.Dir) != app || !strings.HasPrefix(filepath.Base(tr.Dir), "sandbox-99-") || !strings.Contains(tr.Via, "delegated") {
		t.Fatalf("tree %+v, want a sandbox-99-* directory under app.slice", tr)
	}
	if got := read(t, filepath.Join(tr.Payload(), "memory.max")); got != "1073741824" {
		t.Errorf("memory.max = %q", got)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Error("the dead sandbox's directory was not swept")
	}
	if _, err := os.Stat(alive); err != nil {
		t.Error("a live sandbox's directory was swept")
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tr.Dir); !os.IsNotExist(err) {
		t.Error("own directory left behind")
	}
	// Nothing owned above: a clear error.
	env.UID = 54321
	if _, err := enterDelegated(env, Request{PID: 1}); err == nil || !strings.Contains(err.Error(), "no cgroup delegated to uid 54321") {
		t.Errorf("not owned: %v", err)
	}
}

func TestEnterRefusesCgroupV1(t *testing.T) {
	env := Env{Mount: t.TempDir(), Getenv: func(string) string { return "" }}
	_, err := Enter(t.Context(), env, Request{Limits: spec.Limits{Pids: 1}, PID: 1})
	var ue *UnavailableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "not a cgroup v2 hierarchy") || !strings.Contains(ue.Hint(), "--limits best-effort") {
		t.Fatalf("Enter on a plain directory: %v", err)
	}
}

func TestFindBuses(t *testing.T) {
	rt := t.TempDir()
	env := map[string]string{"XDG_RUNTIME_DIR": rt}
	getenv := func(k string) string { return env[k] }
	if b := FindBuses(getenv, 1000); len(b) != 0 {
		t.Fatalf("no sockets: %v", b)
	}
	listen := func(p string) {
		os.MkdirAll(filepath.Dir(p), 0o755)
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		if err := unix.Bind(fd, &unix.SockaddrUnix{Name: p}); err != nil {
			t.Fatal(err)
		}
	}
	listen(filepath.Join(rt, "bus"))
	listen(filepath.Join(rt, "systemd/private"))
	want := []Bus{{Address: "unix:path=" + rt + "/systemd/private", Direct: true}, {Address: "unix:path=" + rt + "/bus"}}
	if b := FindBuses(getenv, 1000); !reflect.DeepEqual(b, want) {
		t.Errorf("FindBuses = %v, want %v", b, want)
	}
	env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/elsewhere"
	if b := FindBuses(getenv, 1000); b[1].Address != "unix:path=/elsewhere" {
		t.Errorf("the session bus address is not taken from the environment: %v", b)
	}
	env["DBUS_SESSION_BUS_ADDRESS"] = "autolaunch:"
	if b := FindBuses(getenv, 1000); len(b) != 2 || b[1].Address != "unix:path="+rt+"/bus" {
		t.Errorf("autolaunch must never be used: %v", b)
	}
}

func TestResolveRlimit(t *testing.T) {
	cur := unix.Rlimit{Cur: 1024, Max: 4096}
	cases := []struct {
		r       spec.Rlimit
		want    unix.Rlimit
		wantErr bool
	}{
		{spec.Rlimit{Soft: 10, Hard: 20}, unix.Rlimit{Cur: 10, Max: 20}, false},
		{spec.Rlimit{Soft: 2048, KeepHard: true}, unix.Rlimit{Cur: 2048, Max: 4096}, false},
		{spec.Rlimit{Soft: 8192, KeepHard: true}, unix.Rlimit{}, true},
		{spec.Rlimit{Hard: 512, KeepSoft: true}, unix.Rlimit{Cur: 512, Max: 512}, false},
		{spec.Rlimit{Hard: 2000, KeepSoft: true}, unix.Rlimit{Cur: 1024, Max: 2000}, false},
	}
	for _, c := range cases {
		got, err := Resolve(c.r, cur)
		if (err != nil) != c.wantErr || (!c.wantErr && got != c.want) {
			t.Errorf("Resolve(%+v) = %+v, %v; want %+v (error %v)", c.r, got, err, c.want, c.wantErr)
		}
	}
	// Raising a hard limit is refused up front unless privileged.
	var nofile unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile)
	if nofile.Max != unix.RLIM_INFINITY {
		up := []spec.Rlimit{{Name: "nofile", Resource: unix.RLIMIT_NOFILE, Soft: nofile.Max + 1, Hard: nofile.Max + 1}}
		if err := CheckRlimits(up, false); err == nil || !strings.Contains(err.Error(), "only root can raise") {
			t.Errorf("raising nofile: %v", err)
		}
		if err := CheckRlimits(up, true); err != nil {
			t.Errorf("privileged raise refused: %v", err)
		}
	}
	if err := CheckRlimits([]spec.Rlimit{{Name: "nofile", Resource: unix.RLIMIT_NOFILE, Soft: 10, Hard: 10}}, false); err != nil {
		t.Errorf("lowering refused: %v", err)
	}
}

func TestRlimitText(t *testing.T) {
	for r, want := range map[spec.Rlimit]string{
		{Soft: 64, Hard: 64}:                         "64:64",
		{Soft: 10, KeepHard: true}:                   "10:",
		{Hard: spec.Unlimited, KeepSoft: true}:       ":unlimited",
		{Soft: spec.Unlimited, Hard: spec.Unlimited}: "unlimited:unlimited",
	} {
		if got := RlimitText(r); got != want {
			t.Errorf("RlimitText(%+v) = %q, want %q", r, got, want)
		}
	}
}
