// Package escape holds end-to-end tests that try to get out of the sandbox
// or gain privileges from inside it, each asserting that the attempt fails.
// A small static probe (./probe) makes one attempt per run and prints "ok"
// or the errno it got.
//
// scripts/test builds the sandbox and the probe and runs these tests as an
// ordinary user with SANDBOX_BIN and SANDBOX_PROBE set; run by hand, TestMain
// builds both.
package escape

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	sbruntime "sandbox/runtime"
)

var sandboxBin, probeBin string

func TestMain(m *testing.M) {
	sandboxBin, probeBin = os.Getenv("SANDBOX_BIN"), os.Getenv("SANDBOX_PROBE")
	var dir string
	if sandboxBin == "" || probeBin == "" {
		var err error
		dir, err = os.MkdirTemp("", "sandbox-escape-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Chmod(dir, 0o755)
		for _, b := range []struct{ out, pkg string }{{"sandbox", "../../cmd/sandbox"}, {"probe", "./probe"}} {
			c := exec.Command("go", "build", "-o", filepath.Join(dir, b.out), b.pkg)
			c.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := c.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b.pkg, err, out)
				os.Exit(2)
			}
		}
		sandboxBin, probeBin = filepath.Join(dir, "sandbox"), filepath.Join(dir, "probe")
	}
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// probe runs the probe inside a sandbox with extra options and returns its
// one-line answer.
func probe(t *testing.T, opts []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The caller's options first, so that a --ro-bind / / cannot hide the
	// probe.
	// The probe is bound at its own path, which exists under a --ro-bind / /.
	full := append(append(append([]string{}, opts...), "--ro-bind", "/usr", "--ro-bind", probeBin, probeBin), "--")
	full = append(full, append([]string{probeBin}, args...)...)
	cmd := exec.CommandContext(ctx, sandboxBin, full...)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("sandbox %q: %v\n%s%s", full, err, out, stderr)
	}
	return strings.TrimSpace(string(out))
}

func expect(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if got == w {
			return
		}
	}
	t.Fatalf("got %q, want one of %q", got, want)
}

// TestWriteReadOnly: read-only binds and their submounts refuse writes, and
// cannot be made writable again.
func TestWriteReadOnly(t *testing.T) {
	expect(t, probe(t, nil, "write", "/usr/escape-probe"), "EROFS")
	// The host's /dev/shm is a submount of /: under --ro-bind / / it must
	// be read-only too (--no-defaults, or the sandbox's own /dev hides it).
	expect(t, probe(t, []string{"--ro-bind", "/", "/", "--no-defaults", "--unshare-all"}, "write", "/dev/shm/escape-probe"), "EROFS")
	expect(t, probe(t, nil, "remount-rw", "/usr"), "EPERM")
	expect(t, probe(t, nil, "setattr-rw", "/usr"), "EPERM", "ENOSYS")
}

func TestNoDevicesOrMounts(t *testing.T) {
	expect(t, probe(t, nil, "mknod", "/tmp/null"), "EPERM")
	expect(t, probe(t, nil, "mount", "proc", "/tmp"), "EPERM")
	expect(t, probe(t, nil, "mount", "tmpfs", "/tmp"), "EPERM")
	expect(t, probe(t, nil, "chroot", "/tmp"), "EPERM")
	for _, dev := range []string{"/dev/mem", "/dev/kmem", "/dev/port", "/dev/sda", "/dev/vda", "/dev/kmsg", "/dev/net/tun"} {
		expect(t, probe(t, nil, "open", dev), "ENOENT")
	}
	// /proc/sysrq-trigger is root's on the host: unmapped inside, so the
	// open is refused before the read-only bind over it even matters
	// (ENOENT: a kernel without CONFIG_MAGIC_SYSRQ, like this CI's).
	expect(t, probe(t, nil, "open", "/proc/sysrq-trigger", "w"), "EROFS", "EACCES", "ENOENT")
	expect(t, probe(t, nil, "open", "/sys/power/state", "w"), "ENOENT")
	expect(t, probe(t, []string{"--ro-bind", "/sys", "/sys"}, "open", "/sys/power/state", "w"), "EROFS", "EACCES")
}

// TestHostProcessesOutOfReach: host processes can be neither signalled nor
// inspected.
func TestHostProcessesOutOfReach(t *testing.T) {
	victim := exec.Command("sleep", "60")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { victim.Process.Kill(); victim.Wait() }()
	pid := strconv.Itoa(victim.Process.Pid)
	expect(t, probe(t, nil, "kill", pid, "9"), "ESRCH")
	expect(t, probe(t, nil, "open", "/proc/"+pid+"/environ"), "ENOENT")
	if err := victim.Process.Signal(os0()); err != nil {
		t.Fatalf("the host process died: %v", err)
	}
	// The sandbox's own pid 1 (init) is not reachable either.
	expect(t, probe(t, nil, "ptrace-attach", "1"), "EPERM")
	for _, f := range []string{"/proc/1/exe", "/proc/1/mem", "/proc/1/environ", "/proc/1/root/."} {
		expect(t, probe(t, nil, "open", f), "EACCES")
	}
	expect(t, probe(t, nil, "readlink", "/proc/1/exe"), "EACCES")
}

func os0() os.Signal { return syscallSignal(0) }

// TestNoHostSockets: with the network unshared, neither abstract unix
// sockets nor the host's loopback are reachable.
func TestNoHostSockets(t *testing.T) {
	name := fmt.Sprintf("sandbox-escape-%d", os.Getpid())
	ul, err := net.Listen("unix", "@"+name)
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	expect(t, probe(t, nil, "connect-abstract", name), "ECONNREFUSED")
	expect(t, probe(t, nil, "connect-tcp", tl.Addr().String()), "ECONNREFUSED", "ENETUNREACH")
	// Sanity: the same probes reach them with the host's network shared
	// (Landlock's scope, ABI 6, keeps abstract sockets out even then).
	expect(t, probe(t, []string{"--share-net", "--no-landlock"}, "connect-abstract", name), "ok")
	expect(t, probe(t, []string{"--share-net"}, "connect-abstract", name), "EPERM", "ok")
	expect(t, probe(t, []string{"--share-net"}, "connect-tcp", tl.Addr().String()), "ok")
}

// TestCredentials: no capabilities in any set, no_new_privs, seccomp on; no
// fd of the sandbox reaches the program. Both ways of starting it are
// checked: forked by init from its confined thread (the default), and
// through the exec stage (which --rlimit needs).
func TestCredentials(t *testing.T) {
	for _, way := range [][]string{nil, {"--rlimit", "core=0"}} {
		st := probe(t, way, "status")
		for _, want := range []string{"CapInh: 0000000000000000", "CapPrm: 0000000000000000", "CapEff: 0000000000000000",
			"CapBnd: 0000000000000000", "CapAmb: 0000000000000000", "NoNewPrivs: 1", "Seccomp: 2"} {
			if !strings.Contains(st, want) {
				t.Errorf("%q: status lacks %q:\n%s", way, want, st)
			}
		}
		checkNoLeakedFDs(t, way)
	}
	st := probe(t, []string{"--uid", "0", "--gid", "0"}, "status")
	if !strings.Contains(st, "CapEff: 0000000000000000") || !strings.Contains(st, "CapBnd: 0000000000000000") {
		t.Errorf("uid 0 inside keeps capabilities:\n%s", st)
	}
	st = probe(t, []string{"--cap-add", "CAP_NET_ADMIN"}, "status")
	if !strings.Contains(st, "CapEff: 0000000000001000") || !strings.Contains(st, "CapBnd: 0000000000001000") {
		t.Errorf("--cap-add CAP_NET_ADMIN:\n%s", st)
	}
}

// checkNoLeakedFDs: the program has its standard streams, the probe's own
// directory fd and what the test itself passed on, nothing else.
func checkNoLeakedFDs(t *testing.T, args []string) {
	t.Helper()
	fds := strings.Fields(probe(t, args, "fds"))
	allowed := map[string]bool{"0": true, "1": true, "2": true, "3": true} // 3: the probe's own directory fd
	for _, fd := range sbruntime.NonCloexecFDs() {
		allowed[strconv.Itoa(fd)] = true
	}
	for _, fd := range fds {
		if !allowed[fd] {
			t.Errorf("%q: fd %s leaked into the program (fds %q)", args, fd, fds)
		}
	}
}

// TestDeniedSyscalls: the default seccomp policy refuses what a sandboxed
// program has no business doing.
func TestDeniedSyscalls(t *testing.T) {
	for _, c := range []struct {
		sys  string
		want []string
	}{
		{"keyctl", []string{"EPERM"}}, {"add_key", []string{"EPERM"}}, {"request_key", []string{"EPERM"}},
		{"bpf", []string{"EPERM"}}, {"perf_event_open", []string{"EPERM"}}, {"userfaultfd", []string{"EPERM"}},
		{"kexec_load", []string{"EPERM"}}, {"init_module", []string{"EPERM"}}, {"finit_module", []string{"EPERM"}},
		{"delete_module", []string{"EPERM"}}, {"acct", []string{"EPERM"}}, {"quotactl", []string{"EPERM"}},
		{"swapon", []string{"EPERM"}}, {"swapoff", []string{"EPERM"}}, {"reboot", []string{"EPERM"}},
		{"syslog", []string{"EPERM"}}, {"fsopen", []string{"ENOSYS"}}, {"open_tree", []string{"ENOSYS"}},
		{"move_mount", []string{"ENOSYS"}}, {"mount_setattr", []string{"ENOSYS"}}, {"umount2", []string{"EPERM"}},
		{"pivot_root", []string{"EPERM"}}, {"chroot", []string{"EPERM"}}, {"io_uring_setup", []string{"EPERM"}},
		{"personality-bsd", []string{"EPERM"}}, {"ptrace-traceme", []string{"EPERM"}},
		{"unshare-user", []string{"EPERM"}}, {"clone-newuser", []string{"EPERM"}}, {"clone3", []string{"ENOSYS"}},
		{"personality-query", []string{"ok"}}, {"getpid", []string{"ok"}},
	} {
		t.Run(c.sys, func(t *testing.T) { expect(t, probe(t, nil, "sys", c.sys), c.want...) })
	}
	// Loosened groups.
	expect(t, probe(t, []string{"--allow", "ptrace"}, "sys", "ptrace-traceme"), "ok")
	expect(t, probe(t, []string{"--allow", "userns"}, "sys", "clone-newuser"), "ok")
}

// TestI386Entry: a denied system call made through int $0x80 (the i386 table)
// is refused too; on kernels without the i386 entry the attempt faults.
func TestI386Entry(t *testing.T) {
	const i386Keyctl, i386Unshare = "288", "310"
	expect(t, probe(t, nil, "int80", i386Keyctl, "0", "0", "0"), "EPERM", "NO-I386-ENTRY")
	expect(t, probe(t, nil, "int80", i386Unshare, "0x10000000", "0", "0"), "EPERM", "NO-I386-ENTRY")
}

// TestTIOCSTI: pushing input into a terminal is refused, also with high bits
// set in the request (CVE-2019-10063 class); a harmless ioctl with high bits
// still works.
func TestTIOCSTI(t *testing.T) {
	expect(t, probe(t, nil, "tiocsti"), "EPERM")
	expect(t, probe(t, nil, "tiocsti", "high"), "EPERM")
	expect(t, probe(t, nil, "ioctl-high-tcgets"), "ok")
}

// TestLandlock: behind the mount namespace, Landlock keeps the program off
// what it was not granted: the root tmpfs (owned by its own uid) is not
// writable, binds keep their mode; --no-landlock lifts it.
func TestLandlock(t *testing.T) {
	expect(t, probe(t, nil, "mkdir", "/escape-probe"), "EACCES")
	expect(t, probe(t, nil, "write", "/tmp/ok"), "ok")
	expect(t, probe(t, []string{"--no-landlock"}, "mkdir", "/escape-probe"), "ok")
}

// TestDisableUserns: --disable-userns makes nested user namespaces
// impossible even where the seccomp policy would allow them, and
// --assert-userns-disabled holds exactly when they are impossible.
func TestDisableUserns(t *testing.T) {
	expect(t, probe(t, []string{"--allow", "userns"}, "sys", "clone-newuser"), "ok")
	expect(t, probe(t, []string{"--allow", "userns", "--disable-userns"}, "sys", "clone-newuser"), "ENOSPC")
	expect(t, probe(t, []string{"--allow", "userns", "--disable-userns", "--assert-userns-disabled"}, "sys", "clone-newuser"), "ENOSPC")
	expect(t, probe(t, []string{"--assert-userns-disabled"}, "sys", "clone-newuser"), "EPERM")
	cmd := exec.Command(sandboxBin, "--allow", "userns", "--assert-userns-disabled", "--ro-bind", "/usr", "--", "true")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--assert-userns-disabled") {
		t.Fatalf("--assert-userns-disabled with user namespaces allowed: %v\n%s", err, out)
	}
}
