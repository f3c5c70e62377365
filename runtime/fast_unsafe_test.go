//go:build linux

package runtime

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"sandbox/secure"
	"sandbox/spec"
)

// caseA is the start-up benchmark's case (a) in bubblewrap's words.
var caseA = []string{"--unshare-all", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
	"--symlink", "usr/lib", "/lib", "--proc", "/proc", "--dev", "/dev", "true"}

// fastTestPlan builds the plan Run would, for bubblewrap's args.
func fastTestPlan(t *testing.T, args ...string) *Plan {
	t.Helper()
	s, _, err := spec.Parse(spec.Bwrap, args, spec.Options{RealUID: 1000, RealGID: 1000})
	if err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return &Plan{Spec: s, Env: []string{"PATH=/usr/bin:/bin", "HOME=/home/u"}, Cwd: "/home/u/src", Home: "/home/u",
		LastCap: 40, PIDNS: s.Namespaces.PID, UseInit: s.Namespaces.PID && !s.AsPID1}
}

// TestFastEligible: the fast init takes the common bubblewrap sandbox and
// leaves everything else to the Go init.
func TestFastEligible(t *testing.T) {
	if !fastArch() {
		t.Skip("the fast init knows amd64 and arm64 only")
	}
	filter := []bpf.RawInstruction{{Op: 0x06, K: 0x7fff0000}}
	// The data ops' fds: a regular file's data can be read where it
	// stands; a pipe's could not be read again by a fall-back.
	file, err := os.CreateTemp(t.TempDir(), "data")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	fileFD, pipeFD := strconv.Itoa(int(file.Fd())), strconv.Itoa(int(pr.Fd()))
	cases := []struct {
		name string
		args []string
		edit func(*Plan)
		want bool
	}{
		{"case (a)", caseA, nil, true},
		{"ro-bind / /", []string{"--unshare-all", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"}, nil, true},
		{"binds, dir, tmpfs, hostname, chdir", []string{"--unshare-all", "--bind", "/tmp", "/tmp", "--dev-bind", "/dev/null", "/null",
			"--ro-bind-try", "/nonexistent", "/x", "--dir", "/d", "--perms", "0700", "--tmpfs", "/t", "--hostname", "h",
			"--chdir", "/", "--new-session", "--die-with-parent", "--setenv", "A", "b", "true"}, nil, true},
		{"no pid namespace", []string{"--unshare-user", "--ro-bind", "/", "/", "--proc", "/proc", "true"}, nil, true},
		{"--as-pid-1", []string{"--unshare-all", "--as-pid-1", "--ro-bind", "/", "/", "true"}, nil, true},
		{"an init without a pid namespace", caseA, func(p *Plan) { p.UseInit, p.PIDNS = true, false }, false},
		{"--info-fd", append([]string{"--info-fd", "1"}, caseA...), nil, true},
		{"--json-status-fd", append([]string{"--json-status-fd", "1"}, caseA...), nil, true},
		{"--userns-block-fd", caseA, func(p *Plan) { p.Spec.UsernsBlockFD = 0 }, false},
		{"--block-fd", append([]string{"--block-fd", "0"}, caseA...), func(p *Plan) { p.PassFDs = []int{0} }, true},
		{"--block-fd with --info-fd", append([]string{"--block-fd", "0", "--info-fd", "1"}, caseA...), func(p *Plan) { p.PassFDs = []int{0} }, false},
		{"--block-fd with --json-status-fd", append([]string{"--block-fd", "0", "--json-status-fd", "1"}, caseA...), func(p *Plan) { p.PassFDs = []int{0} }, false},
		{"--sync-fd", append([]string{"--sync-fd", "1"}, caseA...), func(p *Plan) { p.InitFDs = []int{1} }, true},
		{"--sync-fd without a pid namespace", []string{"--unshare-user", "--sync-fd", "1", "--ro-bind", "/", "/", "true"},
			func(p *Plan) { p.InitFDs, p.UseInit = []int{1}, true }, false},
		{"--lock-file", append([]string{"--lock-file", "/usr/x"}, caseA...), nil, true},
		{"--cap-add", append([]string{"--cap-add", "CAP_CHOWN"}, caseA...), func(p *Plan) { p.Keep = 1 }, true},
		{"--file from a pipe", append([]string{"--file", pipeFD, "/f"}, caseA...), nil, false},
		{"--bind-data from a pipe", append([]string{"--bind-data", pipeFD, "/f"}, caseA...), nil, false},
		{"--file, --bind-data, --ro-bind-data from files", append([]string{"--file", fileFD, "/f", "--bind-data", fileFD, "/g",
			"--ro-bind-data", fileFD, "/h"}, caseA...), func(p *Plan) { p.InitFDs = []int{int(file.Fd())} }, true},
		{"--chmod", append([]string{"--chmod", "0700", "/usr"}, caseA...), nil, haveFchmodat2()},
		{"--remount-ro", append([]string{"--remount-ro", "/usr"}, caseA...), nil, true},
		{"--mqueue", append([]string{"--mqueue", "/mq"}, caseA...), nil, true},
		{"--tmp-overlay", append([]string{"--overlay-src", "/usr", "--tmp-overlay", "/o"}, caseA...), nil, false},
		{"--bind-fd", append([]string{"--bind-fd", "0", "/f"}, caseA...), nil, false},
		{"--disable-userns", append([]string{"--unshare-user", "--disable-userns"}, caseA...), nil, false},
		{"--seccomp", append([]string{"--seccomp", "0"}, caseA...), func(p *Plan) { p.UserFilters = [][]bpf.RawInstruction{filter} }, true},
		{"a console", caseA, func(p *Plan) { p.Console = "/dev/pts/0" }, true},
		{"capabilities kept", caseA, func(p *Plan) { p.Keep = 1<<40 | 1 }, true},
		{"the default seccomp filter and landlock", caseA, func(p *Plan) { p.Seccomp, p.Landlock, p.LandlockABI = filter, true, 6 }, true},
		{"a filter the kernel would refuse", caseA, func(p *Plan) { p.Seccomp = make([]bpf.RawInstruction, 4097) }, false},
		{"the caller's seccomp filters", caseA, func(p *Plan) { p.UserFilters = [][]bpf.RawInstruction{filter, filter} }, true},
		{"an empty filter of the caller's", caseA, func(p *Plan) { p.UserFilters = [][]bpf.RawInstruction{filter, {}} }, false},
		{"fds only init needs", caseA, func(p *Plan) { p.InitFDs = []int{5} }, false},
		{"the sandbox personality", caseA, func(p *Plan) { p.Spec.Personality = spec.Sandbox }, true},
		{"--net user with slirp4netns or pasta", caseA, func(p *Plan) { p.Spec.Net.Mode = spec.NetUser }, true},
		{"--net user with the built-in stack", caseA, func(p *Plan) { p.Spec.Net.Mode, p.NetBuiltin, p.NetSock = spec.NetUser, true, 9 }, true},
		{"the built-in stack without its socket", caseA, func(p *Plan) { p.NetBuiltin = true }, false},
		{"the sandbox's resolv.conf", caseA, func(p *Plan) {
			p.Spec.Ops = append(p.Spec.Ops, spec.Op{Kind: spec.OpROBindData, Dest: "/etc/resolv.conf", FD: spec.NoFD, Perms: 0o644, Data: []byte("nameserver 10.0.2.3\n")})
		}, true},
		{"cgroup limits", caseA, func(p *Plan) { p.CgroupPayload = "/sys/fs/cgroup/x" }, false},
		{"--rlimit", caseA, func(p *Plan) {
			p.Spec.Limits.Rlimits = []spec.Rlimit{{Name: "core", Resource: unix.RLIMIT_CORE}}
		}, true},
		{"an --rlimit soft limit above the kept hard one", caseA, func(p *Plan) {
			p.Spec.Limits.Rlimits = []spec.Rlimit{{Name: "nofile", Resource: unix.RLIMIT_NOFILE, Soft: ^uint64(0) - 1, KeepHard: true}}
		}, false},
	}
	for _, c := range cases {
		p := fastTestPlan(t, c.args...)
		if c.edit != nil {
			c.edit(p)
		}
		if got := fastEligible(p); got != c.want {
			t.Errorf("%s: fastEligible = %v, want %v", c.name, got, c.want)
		}
		if fp := compileFast(p, "bwrap", 0); (fp != nil) != c.want {
			t.Errorf("%s: compileFast gave a program: %v, want %v", c.name, fp != nil, c.want)
		}
	}
}

// cstr reads the C string at p, in one of fp's buffers.
func cstr(fp *fastProg, p uintptr) string {
	for _, b := range fp.bufs {
		start := uintptr(unsafe.Pointer(&b[0]))
		if p >= start && p < start+uintptr(len(b)) {
			s := b[p-start:]
			if i := bytes.IndexByte(s, 0); i >= 0 {
				return string(s[:i])
			}
		}
	}
	return ""
}

// zeros reports whether the n bytes at p, in fp's buffers, are all 0.
func zeros(fp *fastProg, p uintptr, n int) bool {
	for _, b := range fp.bufs {
		start := uintptr(unsafe.Pointer(&b[0]))
		if p >= start && p+uintptr(n) <= start+uintptr(len(b)) {
			return bytes.Count(b[p-start:p-start+uintptr(n)], []byte{0}) == n
		}
	}
	return false
}

// TestCompileFast checks the shape of case (a)'s program: every jump and
// slot in range, the sources opened before the first mount, the root built
// in the Go init's order, the capabilities dropped before the fork, the
// program looked up along PATH, and the fall-back report that the parent
// recognises.
func TestCompileFast(t *testing.T) {
	if !fastArch() {
		t.Skip("the fast init knows amd64 and arm64 only")
	}
	p := fastTestPlan(t, caseA...)
	p.PassFDs = []int{7}
	fp := compileFast(p, "/usr/local/bin/bwrap", unix.CLONE_NEWUSER|unix.CLONE_NEWPID)
	if fp == nil {
		t.Fatal("case (a) is not eligible")
	}
	var order []string
	for i, op := range fp.ops {
		if op.target < 0 || int(op.target) > len(fp.ops) {
			t.Errorf("op %d jumps to %d of %d", i, op.target, len(fp.ops))
		}
		for _, s := range append(op.in[:], op.out) {
			if int(s) > len(fp.slots) {
				t.Errorf("op %d uses slot %d of %d", i, s, len(fp.slots))
			}
		}
		switch {
		case op.kind == fkSys && op.nr == unix.SYS_OPENAT && cstr(fp, op.args[1]) == "/usr":
			order = append(order, "open /usr")
		case op.kind == fkSys && op.nr == unix.SYS_MOUNT:
			order = append(order, "mount "+cstr(fp, op.args[0])+" "+cstr(fp, op.args[1]))
		case op.kind == fkSys && op.nr == unix.SYS_MOVE_MOUNT:
			order = append(order, "move_mount")
		case op.kind == fkSys && op.nr == unix.SYS_SYMLINKAT:
			order = append(order, "symlink "+cstr(fp, op.args[0])+" "+cstr(fp, op.args[2]))
		case op.kind == fkSys && op.nr == unix.SYS_PIVOT_ROOT:
			order = append(order, "pivot_root")
		case op.kind == fkSys && op.nr == unix.SYS_CAPSET:
			order = append(order, "capset")
		case op.kind == fkSys && op.nr == unix.SYS_RT_SIGACTION && zeros(fp, op.args[1], 32) && op.args[2] == 0:
			order = append(order, "default "+unix.SignalName(syscall.Signal(op.args[0])))
		case op.kind == fkSys && op.nr == unix.SYS_RT_SIGPROCMASK && zeros(fp, op.args[1], 8):
			order = append(order, "unblock")
		case op.kind == fkFork:
			order = append(order, "fork")
		case op.kind == fkExec:
			order = append(order, "execve "+cstr(fp, op.args[0]))
		case op.kind == fkReap:
			order = append(order, "reap")
		}
	}
	got := strings.Join(order, "\n")
	want := strings.Join([]string{
		"open /usr",
		"mount  /", "mount tmpfs /tmp", "mount  /tmp", "mount tmpfs /tmp/data", "mount tmpfs /tmp/root",
		"move_mount",
		"symlink usr/bin bin", "symlink usr/lib lib",
		"mount proc .",
		"mount tmpfs .",
		"move_mount", "move_mount", "move_mount", "move_mount", "move_mount", "move_mount",
		"symlink /proc/self/fd/0 stdin", "symlink /proc/self/fd/1 stdout", "symlink /proc/self/fd/2 stderr",
		"symlink /proc/self/fd fd", "symlink /proc/kcore core", "symlink pts/ptmx ptmx",
		"mount devpts .",
		"pivot_root", "mount  .",
		"capset",
		"fork",
		"default SIGHUP", "default SIGINT", "default SIGQUIT", "default SIGTERM",
		"default SIGUSR1", "default SIGUSR2", "default SIGWINCH",
		"unblock",
		"execve /usr/bin/true", "execve /bin/true",
		"reap",
	}, "\n")
	// /proc's read-only covers are binds too, skipped at run time when
	// nothing is writable: drop them from the comparison.
	got = strings.Replace(got, "mount proc .\nmove_mount\nmove_mount\nmove_mount\nmove_mount\n", "mount proc .\n", 1)
	if got != want {
		t.Errorf("order:\n%s\nwant:\n%s", got, want)
	}
	caps := 0
	for _, op := range fp.ops {
		if (op.kind == fkCapDrop || op.kind == fkCapCheck) && op.args[0] == uintptr(p.LastCap) {
			caps++
		}
	}
	if caps != 2 {
		t.Errorf("%d capability loops up to %d: want the bounding-set drop and the read-back", caps, p.LastCap)
	}
	if !strings.Contains(string(fp.fallback), fastFallbackMsg) {
		t.Errorf("fallback report %q lacks its marker", fp.fallback)
	}
	if len(fp.keep) != 4 || fp.keep[3] != 7 {
		t.Errorf("kept fds %v, want 0 1 2 7", fp.keep)
	}
	// Every environment sets PWD to the directory it goes with.
	for i, want := range []string{"/home/u/src", "/home/u", "/"} {
		env := fp.envs[i]
		found := false
		for _, b := range env[:len(env)-1] {
			if cstr(fp, uintptr(unsafe.Pointer(b))) == "PWD="+want {
				found = true
			}
		}
		if !found {
			t.Errorf("environment %d lacks PWD=%s", i, want)
		}
	}
	if name := cstr(fp, fp.ops[0].args[1]); fp.ops[0].nr != unix.SYS_PRCTL || name != "bwrap" {
		t.Errorf("first op names the process %q, want bwrap", name)
	}
}

// TestFastFormats: the tmpfs options read as the Go init's fmt gives them.
func TestFastFormats(t *testing.T) {
	for _, c := range []struct {
		mode uint32
		want string
	}{{0o755, "0755"}, {0, "0"}, {0o1777, "01777"}, {0o7, "07"}} {
		if got := octalC(c.mode); got != c.want {
			t.Errorf("octalC(%o) = %q, want %q", c.mode, got, c.want)
		}
	}
	for _, v := range []int64{0, 7, 1 << 20, 123456789} {
		if got, want := itoa(v), strconv.FormatInt(v, 10); got != want {
			t.Errorf("itoa(%d) = %q, want %q", v, got, want)
		}
	}
}

// TestCompileFastConfined: with Landlock and the default seccomp filter, the
// fast init confines in secure's order (capabilities and no_new_privs,
// Landlock, seccomp last) and only then forks the program; the sandbox
// personality's init ends with the program.
func TestCompileFastConfined(t *testing.T) {
	if !fastArch() {
		t.Skip("the fast init knows amd64 and arm64 only")
	}
	p := fastTestPlan(t, caseA...)
	p.Spec.Personality = spec.Sandbox
	p.Landlock, p.LandlockABI = true, 6
	p.Seccomp = []bpf.RawInstruction{{Op: 0x06, K: 0x7fff0000}}
	fp := compileFast(p, "sandbox", 0)
	if fp == nil {
		t.Fatal("not eligible")
	}
	var order []string
	for _, op := range fp.ops {
		switch {
		case op.kind == fkSys && op.nr == unix.SYS_CAPSET:
			order = append(order, "capset")
		case op.kind == fkSys && op.nr == unix.SYS_PRCTL && op.args[0] == unix.PR_SET_NO_NEW_PRIVS:
			order = append(order, "no_new_privs")
		case op.kind == fkSys && op.nr == unix.SYS_LANDLOCK_CREATE_RULESET:
			order = append(order, "ruleset")
		case op.kind == fkLLRule:
			order = append(order, "rule "+cstr(fp, op.args[0]))
		case op.kind == fkLLStreams:
			order = append(order, "streams")
		case op.kind == fkSys && op.nr == unix.SYS_LANDLOCK_RESTRICT_SELF:
			order = append(order, "restrict_self")
		case op.kind == fkSys && op.nr == unix.SYS_SECCOMP:
			order = append(order, "seccomp")
		case op.kind == fkFork:
			order = append(order, "fork")
		}
	}
	got := strings.Join(order, " ")
	want := "capset no_new_privs ruleset"
	for _, r := range secure.LandlockRules(p.Spec.Ops) {
		want += " rule " + r.Path
	}
	want += " streams restrict_self seccomp fork"
	if got != want {
		t.Errorf("order:\n%s\nwant:\n%s", got, want)
	}
	if fp.bwrap {
		t.Error("the sandbox personality's init waits for every process, want the program only")
	}
	if fp.fprog == nil || int(fp.fprog.Len) != len(p.Seccomp) {
		t.Errorf("seccomp program %+v", fp.fprog)
	}
}

// TestCompileFastNoInit: without a pid namespace (or with --as-pid-1) the
// fast init's process becomes the program: no fork, no reaper, the host's
// /proc bound rather than a new one mounted.
func TestCompileFastNoInit(t *testing.T) {
	if !fastArch() {
		t.Skip("the fast init knows amd64 and arm64 only")
	}
	p := fastTestPlan(t, "--unshare-user", "--ro-bind", "/", "/", "--proc", "/proc", "--new-session", "true")
	fp := compileFast(p, "bwrap", 0)
	if fp == nil {
		t.Fatal("not eligible")
	}
	var setsid, capset, procMount, procOpen int
	for i, op := range fp.ops {
		switch {
		case op.kind == fkFork || op.kind == fkReap:
			t.Errorf("op %d: %d, want no init", i, op.kind)
		case op.kind == fkSys && op.nr == unix.SYS_SETSID:
			setsid = i
		case op.kind == fkSys && op.nr == unix.SYS_CAPSET:
			capset = i
		case op.kind == fkSys && op.nr == unix.SYS_MOUNT && cstr(fp, op.args[0]) == "proc":
			procMount++
		case op.kind == fkSys && op.nr == unix.SYS_OPENAT && cstr(fp, op.args[1]) == "/proc":
			procOpen++
		}
	}
	if setsid == 0 || setsid > capset {
		t.Errorf("setsid at op %d, capset at %d: want setsid first, as execProgram", setsid, capset)
	}
	if procMount != 0 || procOpen != 1 {
		t.Errorf("proc mounted %d times, host /proc opened %d: want it bound", procMount, procOpen)
	}
	if last := fp.ops[len(fp.ops)-1]; last.kind != fkFail {
		t.Errorf("last op %d, want the failure after the execve candidates", last.kind)
	}
}
