package test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// hostCanLimit: the host has cgroup v2 and a systemd user manager, so a
// refusal is not what it gives (the limits themselves are proven in the VM,
// scripts/vm-limits).
func hostCanLimit() bool {
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		return false
	}
	rt := os.Getenv("XDG_RUNTIME_DIR")
	if rt == "" {
		rt = "/run/user/" + strconv.Itoa(os.Getuid())
	}
	_, err1 := os.Stat(filepath.Join(rt, "systemd/private"))
	_, err2 := os.Stat(filepath.Join(rt, "bus"))
	return err1 == nil || err2 == nil
}

// statusFile gives the sandbox a --json-status-fd 3 and returns the file to
// read it from after the run.
func statusFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "status"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readStatus(t *testing.T, f *os.File) string {
	t.Helper()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLimitsRefusedWithoutCgroups(t *testing.T) {
	if hostCanLimit() {
		t.Skip("this host can enforce limits (cgroup v2 and a user manager): the VM test covers them")
	}
	before := netProcs()
	r := sb(t, concat([]string{"--memory", "64M", "--pids", "10"}, usrArgs(), []string{"true"})...)
	mustCode(t, r, 125)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "sandbox: --memory, --pids: cannot enforce cgroup limits: ") ||
		!strings.Contains(lines[0], "loginctl enable-linger") || !strings.Contains(lines[0], "--limits best-effort") {
		t.Errorf("want one line naming the flags, the reason and the fixes; got %s", r)
	}
	noneLeft(t, before)
}

func TestLimitsBestEffort(t *testing.T) {
	if hostCanLimit() {
		t.Skip("this host can enforce limits: best-effort would enforce them")
	}
	st := statusFile(t)
	r := runWith(t, runOpts{files: []*os.File{st}}, sandboxBin, concat([]string{"--limits", "best-effort", "--memory", "64M", "--pids", "10",
		"--rlimit", "nofile=64", "--json-status-fd", "3"}, usrArgs(), []string{"sh", "-c", "ulimit -n"})...)
	mustCode(t, r, 0)
	if strings.TrimSpace(r.stdout) != "64" {
		t.Errorf("the rlimit is enforced even in best-effort mode; got %s", r)
	}
	if !strings.Contains(r.stderr, "NOT enforced: --memory (memory.max), --pids (pids.max)") {
		t.Errorf("want the limits not enforced named; got %s", r)
	}
	s := readStatus(t, st)
	if !strings.Contains(s, `"not-enforced": ["--memory (memory.max)", "--pids (pids.max)"]`) || !strings.Contains(s, `"rlimit-nofile": "64:64"`) {
		t.Errorf("status: %s", s)
	}
}

// sleepers counts processes running "sleep MARK", the tests' markers.
func sleepers(mark string) int {
	n := 0
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(b), "sleep\x00"+mark) {
			n++
		}
	}
	return n
}

func TestTimeout(t *testing.T) {
	st := statusFile(t)
	start := time.Now()
	r := runWith(t, runOpts{files: []*os.File{st}}, sandboxBin, concat([]string{"--timeout", "0.5", "--json-status-fd", "3"}, usrArgs(), []string{"sleep", "31.1"})...)
	mustCode(t, r, 124)
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("took %v", el)
	}
	if !strings.Contains(r.stderr, "--timeout 500ms: time is up") {
		t.Errorf("stderr: %s", r)
	}
	s := readStatus(t, st)
	if !strings.Contains(s, `"timeout-seconds": 0.5`) || !strings.Contains(s, `{ "exit-code": 124, "timed-out": true }`) {
		t.Errorf("status: %s", s)
	}
	// A program that ignores SIGTERM is killed after the grace time, with
	// everything it started.
	r = sb(t, concat([]string{"--timeout", "0.3", "--timeout-grace", "0.3"}, usrArgs(),
		[]string{"sh", "-c", "trap '' TERM; sleep 31.2 & sleep 31.2; wait"})...)
	mustCode(t, r, 124)
	for deadline := time.Now().Add(5 * time.Second); sleepers("31.2") > 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d sleepers left after the timeout", sleepers("31.2"))
		}
	}
	// A program that ends in time keeps its own status.
	r = sb(t, concat([]string{"--timeout", "30"}, usrArgs(), []string{"sh", "-c", "exit 3"})...)
	mustCode(t, r, 3)
}

func TestRlimits(t *testing.T) {
	r := sb(t, concat([]string{"--rlimit", "nofile=64:128", "--rlimit", "core=0", "--rlimit", "RLIMIT_FSIZE=1M"}, usrArgs(),
		[]string{"sh", "-c", "ulimit -Sn; ulimit -Hn; ulimit -c; ulimit -f; cat /proc/1/cmdline | tr '\\0' ' '"})...)
	mustCode(t, r, 0)
	if got := strings.Fields(r.stdout); len(got) < 4 || strings.Join(got[:4], " ") != "64 128 0 2048" {
		t.Errorf("want 64 128 0 2048 (fsize in 512-byte blocks), got %s", r)
	}
	// The fast init sets them in the program's process (init keeps its own).
	if strings.Contains(r.stdout, "--stage-init") {
		t.Errorf("--rlimit took the Go init: %q", r.stdout)
	}
	// A file past RLIMIT_FSIZE: the program gets SIGXFSZ.
	r = sb(t, concat([]string{"--rlimit", "fsize=4K", "--tmpfs", "/w"}, usrArgs(),
		[]string{"sh", "-c", "head -c 8192 /dev/zero > /w/f"})...)
	if r.code != 128+int(unix.SIGXFSZ) && r.code != 1 {
		t.Errorf("writing past fsize: %s", r)
	}
	var cur unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &cur)
	// A kept soft limit is the caller's, not the one the Go runtime of
	// the stage that applies it raised for itself (syscall.Setrlimit also
	// stops this process's runtime from restoring its own original in
	// its children: they get 333).
	// Through the fast init and through the Go init (--disable-userns).
	if cur.Max >= 2048 {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 333, Max: cur.Max}); err != nil {
			t.Fatal(err)
		}
		for _, pre := range [][]string{nil, {"--disable-userns"}} {
			r = sb(t, concat(pre, []string{"--rlimit", "nofile=:2048"}, usrArgs(), []string{"sh", "-c", "ulimit -Sn; ulimit -Hn"})...)
			if got := strings.Fields(r.stdout); r.code != 0 || strings.Join(got, " ") != "333 2048" {
				t.Errorf("%q --rlimit nofile=:2048 with the caller's soft limit 333: %s, want 333 2048", pre, r)
			}
		}
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: cur.Cur, Max: cur.Max})
	}
	if cur.Max != unix.RLIM_INFINITY && !asRoot() {
		r = sb(t, concat([]string{"--rlimit", "nofile=" + strconv.FormatUint(cur.Max+1, 10)}, usrArgs(), []string{"true"})...)
		mustCode(t, r, 125)
		if !strings.Contains(r.stderr, "sandbox: --rlimit nofile: the hard limit") || !strings.Contains(r.stderr, "only root can raise") {
			t.Errorf("raising the hard limit: %s", r)
		}
	}
	r = sb(t, concat([]string{"--rlimit", "nofile=lots"}, usrArgs(), []string{"true"})...)
	mustCode(t, r, 125)
	if !strings.HasPrefix(r.stderr, "sandbox: --rlimit nofile=lots: invalid value") {
		t.Errorf("bad value: %s", r)
	}
}
