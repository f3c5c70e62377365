// Package vm holds the resource-limit tests that need a real systemd: they
// run inside the VM of scripts/vm (Debian 12, systemd as pid 1, cgroup v2,
// a lingering user with subordinate ids), as that user, built statically
// and carried in over 9p. scripts/vm-limits builds, boots and runs them.
//
// Processes start 30-40 times slower in the emulated VM than on the host,
// so each case is one or two sandbox runs.
package vm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	sandboxBin string // the binary under test
	selfBin    string // this test binary, bound into sandboxes as a helper
)

func TestMain(m *testing.M) {
	if h := os.Getenv("VMTEST_HELPER"); h != "" {
		os.Exit(helper(h))
	}
	sandboxBin = os.Getenv("SANDBOX_BIN")
	if sandboxBin == "" {
		fmt.Fprintln(os.Stderr, "these tests run inside the limits VM: scripts/vm-limits (SANDBOX_BIN is not set)")
		os.Exit(2)
	}
	selfBin, _ = os.Executable()
	os.Exit(m.Run())
}

// helper is what this binary does inside a sandbox.
func helper(name string) int {
	switch name {
	case "hog": // touch memory until killed
		var keep [][]byte
		for i := 0; i < 1024; i++ {
			b := make([]byte, 4<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		fmt.Println("allocated 4 GiB without being stopped")
		return 0
	case "burn": // spin for 3 s of wall time
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		}
		return 0
	}
	return 2
}

type result struct {
	stdout, stderr string
	code           int
	status         map[string]any // the --json-status-fd exit line
	start          map[string]any // its first line
	wall           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %v\nstdout:\n%s\nstderr:\n%s\nstatus: %v\nstart: %v", r.code, r.wall, r.stdout, r.stderr, r.status, r.start)
}

// run runs the sandbox with the guest's /usr, this binary at /h, and a JSON
// status on fd 3; env overrides the environment when not nil.
func run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "status"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	full := append([]string{"--json-status-fd", "3", "--ro-bind", "/usr", "--ro-bind", selfBin, "/h"}, args...)
	cmd := exec.CommandContext(ctx, sandboxBin, full...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.ExtraFiles, cmd.Env = &out, &errb, []*os.File{f}, env
	start := time.Now()
	err = cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), wall: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("sandbox %q timed out\n%s", full, r)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f.Name())
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) >= 2 {
		json.Unmarshal([]byte(lines[0]), &r.start)
		json.Unmarshal([]byte(lines[len(lines)-1]), &r.status)
	}
	return r
}

func mustCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
}

// sandboxCgroups lists the cgroups the sandbox makes (scopes and delegated
// directories), anywhere in the hierarchy.
func sandboxCgroups() []string {
	var out []string
	filepath.WalkDir("/sys/fs/cgroup", func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && strings.HasPrefix(d.Name(), "sandbox-") {
			out = append(out, p)
			return filepath.SkipDir
		}
		return nil
	})
	return out
}

// noneLeft waits (the VM is slow) for every sandbox cgroup and marked
// process to be gone.
func noneLeft(t *testing.T, mark string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		cg, procs := sandboxCgroups(), marked(mark)
		if len(cg) == 0 && procs == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("left behind 30 s after the sandbox: cgroups %q, %d processes running %q", cg, procs, mark)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// marked counts processes whose command line starts with mark.
func marked(mark string) int {
	if mark == "" {
		return 0
	}
	n := 0
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.HasPrefix(strings.ReplaceAll(string(b), "\x00", " "), mark) {
			n++
		}
	}
	return n
}

func num(m map[string]any, k string) float64 {
	v, _ := m[k].(float64)
	return v
}

func TestScopeAndAccounting(t *testing.T) {
	r := run(t, nil, "--memory", "256M", "--memory-high", "200M", "--pids", "64", "--cpus", "1", "--cpu-weight", "200", "--io-weight", "50",
		"--", "sh", "-c", "cat /proc/self/cgroup; cat /proc/self/uid_map | wc -l")
	mustCode(t, r, 0)
	lim, _ := r.start["limits"].(map[string]any)
	if lim == nil || !strings.HasPrefix(fmt.Sprint(lim["scope"]), "sandbox-") || !strings.HasSuffix(fmt.Sprint(lim["cgroup"]), ".scope/payload") ||
		lim["memory.max"] != "268435456" || lim["memory.high"] != "209715200" || lim["pids.max"] != "64" || lim["cpu.max"] != "100000 100000" ||
		lim["cpu.weight"] != "200" || lim["io.weight"] != "default 50" {
		t.Errorf("limits in the status: %v\n%s", lim, r)
	}
	// The program sees its own cgroup as the root of its namespace, and the
	// subordinate ranges were mapped (the caller's id plus a range).
	lines := strings.Fields(r.stdout)
	if len(lines) != 2 || lines[0] != "0::/" {
		t.Errorf("want 0::/ in /proc/self/cgroup; got %s", r)
	}
	if n, _ := strconv.Atoi(lines[len(lines)-1]); n < 2 || r.start["id-mapping"] != "subordinate-range" {
		t.Errorf("want subordinate ranges mapped; got %s", r)
	}
	if r.status["oom-killed"] != false || r.status["pids-limit-hit"] != false || num(r.status, "memory-peak") <= 0 || num(r.status, "cpu-usec") <= 0 {
		t.Errorf("accounting: %s", r)
	}
	noneLeft(t, "")
}

func TestMemoryLimitOOM(t *testing.T) {
	r := run(t, nil, "--memory", "64M", "--setenv", "VMTEST_HELPER", "hog", "--", "/h")
	mustCode(t, r, 137)
	if r.status["oom-killed"] != true || !strings.Contains(r.stderr, "OOM-killed") {
		t.Errorf("want the OOM kill reported; got %s", r)
	}
	// The peak may pass memory.max by the page being charged when the
	// kernel reclaims or kills.
	if peak := num(r.status, "memory-peak"); peak > 65<<20 || peak < 32<<20 {
		t.Errorf("memory-peak %v, want close to 64 MiB", peak)
	}
	noneLeft(t, "")
}

func TestPidsLimit(t *testing.T) {
	// dash gives up (status 2) at the first fork it is refused.
	loop := "for i in $(seq 30); do sleep 30.3 & done"
	r := run(t, nil, "--pids", "8", "--", "sh", "-c", loop)
	if r.code != 2 || r.status["pids-limit-hit"] != true || !strings.Contains(r.stderr, "--pids 8: ") {
		t.Errorf("want the pids limit reported; got %s", r)
	}
	noneLeft(t, "sleep 30.3")
}

func TestCPULimit(t *testing.T) {
	r := run(t, nil, "--cpus", "0.5", "--setenv", "VMTEST_HELPER", "burn", "--", "/h")
	mustCode(t, r, 0)
	// 3 s of spinning wall time at half a CPU: about 1.5 s of CPU.
	cpu := num(r.status, "cpu-usec") / 1e6
	if cpu < 0.9 || cpu > 2.1 {
		t.Errorf("CPU time %.2f s for 3 s at --cpus 0.5, want about 1.5 s\n%s", cpu, r)
	}
	t.Logf("CPU time %.2f s in %v", cpu, r.wall)
	noneLeft(t, "")
}

func TestTimeoutEndsSleeper(t *testing.T) {
	r := run(t, nil, "--timeout", "2", "--memory", "64M", "--", "sleep", "60.4")
	mustCode(t, r, 124)
	if r.status["timed-out"] != true {
		t.Errorf("status: %s", r)
	}
	noneLeft(t, "sleep 60.4")
}

// TestCannotRaiseLimits: even with the cgroup tree bound writable, the
// program cannot write its own limits (cgroup namespace root, nsdelegate).
func TestCannotRaiseLimits(t *testing.T) {
	script := `for f in $(find /sys/fs/cgroup -path '*sandbox-*/payload/memory.max'); do
		if echo max > "$f"; then echo RAISED; fi; cat "$f"; done`
	r := run(t, nil, "--memory", "64M", "--bind", "/sys/fs/cgroup", "/sys/fs/cgroup", "--", "sh", "-c", script)
	if strings.Contains(r.stdout, "RAISED") || strings.TrimSpace(r.stdout) != "67108864" {
		t.Errorf("want the write refused and memory.max unchanged; got %s", r)
	}
	noneLeft(t, "")
}

// TestKillParent: kill -9 of the sandbox's own process ends the sandbox
// and systemd removes the scope.
func TestKillParent(t *testing.T) {
	cmd := exec.Command(sandboxBin, "--ro-bind", "/usr", "--memory", "64M", "--", "sleep", "60.5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for marked("sleep 60.5") == 0 || len(sandboxCgroups()) == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the sandbox did not start in 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(sandboxCgroups()) != 1 {
		t.Errorf("cgroups while running: %q", sandboxCgroups())
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	noneLeft(t, "sleep 60.5")
}

// TestDelegatedWithoutBus: with no way to reach the manager, a cgroup the
// user owns is used directly (this test runs inside the user's manager,
// under app.slice, which belongs to the user).
func TestDelegatedWithoutBus(t *testing.T) {
	if os.Getenv("VMTEST_CONTEXT") != "user-manager" {
		t.Skip("needs to run inside the user's systemd manager")
	}
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + os.Getenv("HOME"), "XDG_RUNTIME_DIR=/nonexistent"}
	r := run(t, env, "--pids", "16", "--", "cat", "/proc/self/cgroup")
	mustCode(t, r, 0)
	lim, _ := r.start["limits"].(map[string]any)
	if lim == nil || lim["scope"] != nil || !strings.Contains(fmt.Sprint(lim["cgroup"]), "/sandbox-") || lim["pids.max"] != "16" {
		t.Errorf("want a delegated directory; got %v\n%s", lim, r)
	}
	noneLeft(t, "")
}

// TestAsPID1: without a separate init the program itself is moved into the
// payload leaf (before it runs: init becomes the program) and still gets
// its own cgroup namespace.
func TestAsPID1(t *testing.T) {
	r := run(t, nil, "--as-pid-1", "--pids", "16", "--", "sh", "-c", "cat /proc/self/cgroup; echo $$")
	mustCode(t, r, 0)
	lim, _ := r.start["limits"].(map[string]any)
	if lim == nil || lim["pids.max"] != "16" || strings.Fields(r.stdout)[0] != "0::/" || strings.Fields(r.stdout)[1] != "1" {
		t.Errorf("want pid 1 in its own cgroup namespace with pids.max 16; got %v\n%s", lim, r)
	}
	noneLeft(t, "")
}
