package test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The TestRoot* tests run as root (scripts/test runs them in a second pass);
// they switch to the test users with runuser where the case needs one.

func requireRoot(t *testing.T) {
	t.Helper()
	if !asRoot() {
		t.Skip("needs root (scripts/test runs TestRoot* as root)")
	}
}

// asUser runs the binary as another user.
func asUser(t *testing.T, user string, args ...string) result {
	t.Helper()
	runuser := "/usr/sbin/runuser"
	if p, err := exec.LookPath("runuser"); err == nil {
		runuser = p
	}
	_, err := os.Stat(runuser)
	requireHost(t, err == nil, "runuser is missing (util-linux)")
	if _, err := exec.Command("id", "-u", user).Output(); err != nil {
		requireHost(t, false, "user "+user+" does not exist (scripts/test creates it)")
	}
	dir, err := os.MkdirTemp("", "sandbox-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return runWith(t, runOpts{dir: dir, env: []string{"PATH=/usr/bin:/bin"}}, runuser, append([]string{"-u", user, "--"}, args...)...)
}

func nosubUser() string {
	if u := os.Getenv("SANDBOX_NOSUB_USER"); u != "" {
		return u
	}
	return "sbxnosub"
}

func testUser() string {
	if u := os.Getenv("SANDBOX_TEST_USER"); u != "" {
		return u
	}
	return "sbxtest"
}

// TestRootSingleIDFallback: a user without subordinate ranges gets one id,
// and --verbose says why; --id-map range refuses with the fix.
func TestRootSingleIDFallback(t *testing.T) {
	requireRoot(t)
	r := asUser(t, nosubUser(), sandboxBin, "--verbose", "--ro-bind", "/usr", "--", "cat", "/proc/self/uid_map")
	mustCode(t, r, 0)
	if n := len(strings.Split(strings.TrimSpace(r.stdout), "\n")); n != 1 {
		t.Fatalf("uid_map has %d lines, want 1:\n%s", n, r)
	}
	if !strings.Contains(r.stderr, "single") || !strings.Contains(r.stderr, "/etc/subuid") {
		t.Fatalf("--verbose does not explain the single-id fallback:\n%s", r)
	}
	r = asUser(t, nosubUser(), sandboxBin, "--id-map", "range", "--ro-bind", "/usr", "--", "true")
	mustCode(t, r, 125)
	if !strings.Contains(r.stderr, "usermod --add-subuids") {
		t.Fatalf("--id-map range without ranges: no fix given:\n%s", r)
	}
}

// TestRootBwrapKeepsRootCaps: bubblewrap run by root without --unshare-user
// keeps root's capabilities; the sandbox personality drops them all.
func TestRootBwrapKeepsRootCaps(t *testing.T) {
	requireRoot(t)
	r := bw(t, concat([]string{"--unshare-pid", "--proc", "/proc"}, usrArgs(), []string{"sh", "-c", "grep CapEff /proc/self/status; id -u"})...)
	mustCode(t, r, 0)
	if strings.Contains(r.stdout, "0000000000000000") || !strings.HasSuffix(r.stdout, "\n0\n") {
		t.Fatalf("bwrap as root: %s", r)
	}
	r = bw(t, concat([]string{"--unshare-pid", "--proc", "/proc", "--cap-drop", "ALL"}, usrArgs(), []string{"grep", "CapEff", "/proc/self/status"})...)
	mustCode(t, r, 0)
	if !strings.Contains(r.stdout, "0000000000000000") {
		t.Fatalf("bwrap as root --cap-drop ALL: %s", r)
	}
	r = sb(t, "--ro-bind", "/usr", "--", "sh", "-c", "grep -E 'Cap(Eff|Prm|Bnd|Amb)' /proc/self/status")
	mustCode(t, r, 0)
	if strings.Count(r.stdout, "0000000000000000") != 4 {
		t.Fatalf("sandbox as root keeps capabilities:\n%s", r)
	}
}

// TestRootSetuidBinaryGivesNothing: a setuid-root binary bound into the
// sandbox runs with the caller's ids (binds are nosuid, no_new_privs is set).
func TestRootSetuidBinaryGivesNothing(t *testing.T) {
	requireRoot(t)
	probe := os.Getenv("SANDBOX_PROBE")
	requireHost(t, probe != "", "SANDBOX_PROBE is not set (scripts/test builds the probe)")
	dir, err := os.MkdirTemp("", "sandbox-setuid-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	b, err := os.ReadFile(probe)
	if err != nil {
		t.Fatal(err)
	}
	suid := dir + "/probe"
	if err := os.WriteFile(suid, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(suid, os.ModeSetuid|0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("id", "-u", testUser()).Output()
	if err != nil {
		t.Fatal(err)
	}
	uid := strings.TrimSpace(string(out))
	// Outside a sandbox the bit works (the test is meaningful).
	r := asUser(t, testUser(), suid, "euid")
	if strings.TrimSpace(r.stdout) != "0" {
		t.Fatalf("the setuid probe does not gain root even outside: %s", r)
	}
	for _, bin := range []string{sandboxBin, bwrapBin} {
		r := asUser(t, testUser(), bin, "--unshare-user", "--ro-bind", "/usr", "/usr", "--ro-bind", dir, dir, suid, "euid")
		mustCode(t, r, 0)
		if strings.TrimSpace(r.stdout) != uid {
			t.Fatalf("%s: setuid binary ran with euid %q, want %s:\n%s", bin, r.stdout, uid, r)
		}
	}
}
