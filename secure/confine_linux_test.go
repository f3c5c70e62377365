package secure

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

const (
	denyFSChildEnv = "SANDBOX_TEST_DENYFS"
	tsyncChildEnv  = "SANDBOX_TEST_TSYNC"
)

// TestDenyFilesystem: after DenyFilesystem, no thread of the process (those
// that ran before, locked ones included, and those the runtime starts after
// for more locked goroutines) can open or run anything by path; descriptors
// opened before still work.
func TestDenyFilesystem(t *testing.T) {
	if LandlockABI() < 1 {
		t.Fatal("this kernel has no Landlock: DenyFilesystem would do nothing here")
	}
	runChildTest(t, "TestDenyFilesystemChild", denyFSChildEnv)
}

func TestDenyFilesystemChild(t *testing.T) {
	if os.Getenv(denyFSChildEnv) == "" {
		return // run by TestDenyFilesystem in a process of its own
	}
	before, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	check := func() string {
		var bad []string
		if nnp, _ := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); nnp != 1 {
			bad = append(bad, "no_new_privs not set")
		}
		if f, err := os.Open("/etc/passwd"); !errors.Is(err, unix.EACCES) {
			bad = append(bad, fmt.Sprintf("open /etc/passwd: %v", err))
			if f != nil {
				f.Close()
			}
		}
		if _, err := os.ReadDir("/"); !errors.Is(err, unix.EACCES) {
			bad = append(bad, fmt.Sprintf("list /: %v", err))
		}
		if err := exec.Command("/bin/true").Run(); !errors.Is(err, unix.EACCES) {
			bad = append(bad, fmt.Sprintf("run /bin/true: %v", err))
		}
		return strings.Join(bad, "; ")
	}
	runOnThreads(t, 3, 4, func() {
		if abi, err := DenyFilesystem(); err != nil || abi < 1 {
			t.Fatalf("DenyFilesystem = %d, %v", abi, err)
		}
	}, check)
	b := make([]byte, 64)
	if _, err := before.Read(b); err != nil {
		t.Errorf("read a file opened before: %v", err)
	}
}

// runOnThreads locks `before` goroutines to threads, runs confine, then runs
// check on each of them, on `after` goroutines locked at once afterwards (the
// runtime starts new threads for them, the first ones staying parked on
// theirs) and on the test goroutine; check returns what is wrong, or "".
func runOnThreads(t *testing.T, before, after int, confine func(), check func() string) {
	t.Helper()
	type probe struct {
		do   chan func() string
		done chan string
	}
	var locked []probe
	for range before {
		p := probe{make(chan func() string), make(chan string)}
		go func() {
			runtime.LockOSThread()
			for f := range p.do {
				p.done <- f()
			}
		}()
		locked = append(locked, p)
	}
	confine()
	for i, p := range locked {
		p.do <- check
		if res := <-p.done; res != "" {
			t.Errorf("thread locked before, %d: %s", i, res)
		}
	}
	res := make(chan string, after)
	release := make(chan struct{})
	for range after {
		go func() {
			runtime.LockOSThread() // the thread ends with the goroutine
			res <- check()
			<-release
		}()
	}
	for range after {
		if r := <-res; r != "" {
			t.Errorf("thread locked after: %s", r)
		}
	}
	close(release)
	if r := check(); r != "" {
		t.Errorf("test goroutine: %s", r)
	}
}

// TestLoadFilterAllThreads: a filter loaded with TSYNC holds on every thread,
// those locked before and those started after.
func TestLoadFilterAllThreads(t *testing.T) {
	runChildTest(t, "TestLoadFilterAllThreadsChild", tsyncChildEnv)
}

// runChildTest runs the test named in a new process of this test binary,
// with env set to 1 (the child test does nothing without it), and fails
// unless it passed: what it confines must not confine the test process.
func runChildTest(t *testing.T, name, env string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestLoadFilterAllThreadsChild(t *testing.T) {
	if os.Getenv(tsyncChildEnv) == "" {
		return // run by TestLoadFilterAllThreads in a process of its own
	}
	// uname(2) gets EOPNOTSUPP, everything else is allowed. (A test filter:
	// no architecture check.)
	prog := []bpf.RawInstruction{
		{Op: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0},
		{Op: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: unix.SYS_UNAME},
		{Op: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EOPNOTSUPP)},
		{Op: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	check := func() string {
		var u unix.Utsname
		if err := unix.Uname(&u); !errors.Is(err, unix.EOPNOTSUPP) {
			return fmt.Sprintf("uname: %v", err)
		}
		return ""
	}
	runOnThreads(t, 3, 4, func() {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			t.Fatal(err)
		}
		if err := LoadFilterAllThreads(prog); err != nil {
			t.Fatal(err)
		}
	}, check)
}
