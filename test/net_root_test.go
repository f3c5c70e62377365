package test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// userProcs: the live processes running as uid or as one of its
// subordinate uids (from /etc/subuid), by pid.
func userProcs(t *testing.T, user string) map[int]string {
	t.Helper()
	out, err := exec.Command("id", "-u", user).Output()
	if err != nil {
		t.Fatalf("id -u %s: %v", user, err)
	}
	uid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	type span struct{ lo, hi int }
	spans := []span{{uid, uid + 1}}
	b, _ := os.ReadFile("/etc/subuid")
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) == 3 && (f[0] == user || f[0] == strconv.Itoa(uid)) {
			lo, err1 := strconv.Atoi(f[1])
			n, err2 := strconv.Atoi(f[2])
			if err1 == nil && err2 == nil {
				spans = append(spans, span{lo, lo + n})
			}
		}
	}
	procs := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !processAlive(pid) {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(st), "\n") {
			f := strings.Fields(l)
			if len(f) < 2 || f[0] != "Uid:" {
				continue
			}
			u, _ := strconv.Atoi(f[1])
			for _, s := range spans {
				if u >= s.lo && u < s.hi {
					cl, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
					procs[pid] = strings.ReplaceAll(string(cl), "\x00", " ")
				}
			}
		}
	}
	return procs
}

// TestRootNetNoTun: when the user cannot open /dev/net/tun, --net user
// exits 125 with one line naming /dev/net/tun and the fix, and leaves
// nothing of the user's running.
func TestRootNetNoTun(t *testing.T) {
	requireRoot(t)
	st, err := os.Stat("/dev/net/tun")
	requireHost(t, err == nil, "/dev/net/tun is missing (modprobe tun)")
	mode := st.Mode().Perm()
	if err := os.Chmod("/dev/net/tun", 0o600); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := os.Chmod("/dev/net/tun", mode); err != nil {
			t.Errorf("restore /dev/net/tun's mode %o: %v", mode, err)
		}
	}()
	user := testUser()
	// The case is real: the user cannot open it now.
	if r := asUser(t, user, "sh", "-c", "exec 3<>/dev/net/tun"); r.code == 0 {
		t.Fatalf("%s can still open /dev/net/tun at mode 0600 (an ACL?): the test means nothing", user)
	}
	before := userProcs(t, user)
	for _, pre := range [][]string{{"--net", "user"}, {"--net", "user", "--net-backend", "netstack"}} {
		args := concat([]string{sandboxBin}, pre, []string{"--net-dns", inetA, "--ro-bind", "/usr", "--", "echo", "ran"})
		r := asUser(t, user, args...)
		if r.code != 125 || r.stdout != "" {
			t.Errorf("%q without access to /dev/net/tun: want exit 125 and nothing run, got %s", pre, r)
			continue
		}
		msg := strings.TrimSpace(r.stderr)
		i := strings.Index(msg, "/dev/net/tun")
		if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "sandbox: ") || i < 0 || !strings.Contains(msg[i:], "; ") {
			t.Errorf("%q: want one 'sandbox: ' line naming /dev/net/tun, then '; ' and the fix, got %q", pre, r.stderr)
		}
	}
	var left []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		left = left[:0]
		for pid, cl := range userProcs(t, user) {
			if _, ok := before[pid]; !ok {
				left = append(left, fmt.Sprintf("pid %d %s", pid, cl))
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("left running as %s:\n  %s", user, strings.Join(left, "\n  "))
	}
}
