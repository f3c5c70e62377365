package test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExampleScript is the README's first command.
func TestExampleScript(t *testing.T) {
	dir := workDir(t)
	os.WriteFile(filepath.Join(dir, "script.py"), []byte("import os\nprint('hello from', os.getcwd())\n"), 0o644)
	r := runWith(t, runOpts{dir: dir}, sandboxBin, "--ro-bind", "/usr", "--", "python3", "script.py")
	mustCode(t, r, 0)
	if want := "hello from " + dir + "\n"; r.stdout != want {
		t.Fatalf("stdout %q, want %q\n%s", r.stdout, want, r)
	}
}

// subRanges reports whether the current user has subordinate uid ranges.
func subRanges(t *testing.T) bool {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile("/etc/subuid")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, u.Username+":") || strings.HasPrefix(line, u.Uid+":") {
			return true
		}
	}
	return false
}

func TestIdentityAndMaps(t *testing.T) {
	requireUser(t)
	r := sb(t, "--ro-bind", "/usr", "--", "sh", "-c", "id -u; id -g; cat /proc/self/uid_map")
	mustCode(t, r, 0)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if lines[0] != strconv.Itoa(os.Getuid()) || lines[1] != strconv.Itoa(os.Getgid()) {
		t.Fatalf("ids inside %q, want %d %d", lines[:2], os.Getuid(), os.Getgid())
	}
	maps := lines[2:]
	if subRanges(t) {
		if len(maps) < 2 {
			t.Fatalf("user has subordinate ranges but uid_map is %q", maps)
		}
	} else if len(maps) != 1 {
		t.Fatalf("no subordinate ranges but uid_map is %q", maps)
	}

	r = sb(t, "--uid", "0", "--gid", "0", "--ro-bind", "/usr", "--", "sh", "-c", "id -u; id -g")
	mustCode(t, r, 0)
	if r.stdout != "0\n0\n" {
		t.Fatalf("--uid 0 --gid 0: got %q", r.stdout)
	}

	r = sb(t, "--verbose", "--ro-bind", "/usr", "--", "true")
	mustCode(t, r, 0)
	if !strings.Contains(r.stderr, "id mapping: ") {
		t.Fatalf("--verbose does not say which id mapping was used:\n%s", r)
	}
}

// TestChownNeedsRanges: with subordinate ranges, root inside (given
// CAP_CHOWN) can give files to other ids, as package installs need; with
// one id it cannot.
func TestChownNeedsRanges(t *testing.T) {
	requireUser(t)
	requireHost(t, subRanges(t), "the user has no subordinate ranges in /etc/subuid")
	script := "touch /tmp/f && chown 1234:1234 /tmp/f && stat -c '%u:%g' /tmp/f"
	r := sb(t, "--uid", "0", "--gid", "0", "--cap-add", "CAP_CHOWN", "--ro-bind", "/usr", "--", "sh", "-c", script)
	mustCode(t, r, 0)
	if r.stdout != "1234:1234\n" {
		t.Fatalf("chown with ranges: %s", r)
	}
	r = sb(t, "--id-map", "single", "--uid", "0", "--gid", "0", "--cap-add", "CAP_CHOWN", "--ro-bind", "/usr", "--", "sh", "-c", script)
	if r.code == 0 {
		t.Fatalf("chown to an unmapped id worked with one id mapped:\n%s", r)
	}
}

func TestOnlySandboxProcessesVisible(t *testing.T) {
	r := sb(t, "--ro-bind", "/usr", "--", "sh", "-c", "ls /proc | grep -E '^[0-9]+$' | wc -l; cat /proc/1/cmdline | tr '\\0' ' '")
	mustCode(t, r, 0)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	n, _ := strconv.Atoi(strings.TrimSpace(lines[0]))
	// pid 1 (init), sh, ls, grep, wc and cat at most.
	if n < 2 || n > 6 {
		t.Fatalf("%d processes visible, want only the sandbox's:\n%s", n, r)
	}
	if !strings.Contains(lines[1], "sandbox") {
		t.Fatalf("pid 1 is %q, want the sandbox's init", lines[1])
	}
}

func TestHostname(t *testing.T) {
	r := sb(t, "--ro-bind", "/usr", "--", "cat", "/proc/sys/kernel/hostname")
	mustCode(t, r, 0)
	if r.stdout != "sandbox\n" {
		t.Fatalf("default hostname %q", r.stdout)
	}
	r = sb(t, "--hostname", "box1", "--ro-bind", "/usr", "--", "cat", "/proc/sys/kernel/hostname")
	mustCode(t, r, 0)
	if r.stdout != "box1\n" {
		t.Fatalf("--hostname box1 gave %q", r.stdout)
	}
}

func TestOnlyLoopback(t *testing.T) {
	r := sb(t, "--ro-bind", "/usr", "--", "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
	mustCode(t, r, 0)
	if strings.TrimSpace(r.stdout) != "lo" {
		t.Fatalf("interfaces %q, want only lo", r.stdout)
	}
	// lo is up: a TCP listener on 127.0.0.1 is reachable inside.
	py := "import socket\ns=socket.socket(); s.bind(('127.0.0.1',0)); s.listen()\nc=socket.create_connection(s.getsockname()); print('ok')"
	r = sb(t, "--ro-bind", "/usr", "--", "python3", "-c", py)
	mustCode(t, r, 0)
	r = sb(t, "--share-net", "--ro-bind", "/usr", "--", "sh", "-c", "tail -n +3 /proc/net/dev | wc -l")
	mustCode(t, r, 0)
	host, _ := os.ReadFile("/proc/net/dev")
	if want := strconv.Itoa(len(strings.Split(strings.TrimSpace(string(host)), "\n")) - 2); strings.TrimSpace(r.stdout) != want {
		t.Fatalf("--share-net: %s interfaces, host has %s", r.stdout, want)
	}
}

func TestReadOnlyBinds(t *testing.T) {
	r := sb(t, "--ro-bind", "/usr", "--", "sh", "-c", "touch /usr/probe 2>&1; grep ' /usr ' /proc/self/mountinfo")
	if !strings.Contains(r.stdout, "Read-only file system") {
		t.Fatalf("write to a read-only bind: %s", r)
	}
	if !regexp.MustCompile(`\sro,nosuid,nodev[\s,]`).MatchString(r.stdout) {
		t.Fatalf("/usr is not ro,nosuid,nodev:\n%s", r.stdout)
	}
	// Submounts too: the host's /dev/shm (a tmpfs under /) under --ro-bind / /.
	requireHost(t, isMountPoint("/dev/shm"), "/dev/shm is not a mount point on this host")
	r = bw(t, "--ro-bind", "/", "/", "--", "sh", "-c", "touch /dev/shm/sandbox-probe")
	if r.code == 0 || !strings.Contains(r.stderr, "Read-only file system") {
		t.Fatalf("write to a submount of a read-only bind: %s", r)
	}
}

func isMountPoint(p string) bool {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && f[4] == p {
			return true
		}
	}
	return false
}

func TestExitStatuses(t *testing.T) {
	cases := []struct {
		name string
		bin  string
		args []string
		code int
		err  string
	}{
		{"program status", sandboxBin, []string{"sh", "-c", "exit 7"}, 7, ""},
		{"killed by signal", sandboxBin, []string{"sh", "-c", "kill -TERM $$"}, 128 + 15, ""},
		{"not found", sandboxBin, []string{"no-such-command-xyz"}, 127, "no-such-command-xyz"},
		{"not executable", sandboxBin, []string{"/usr/share"}, 126, "/usr/share"},
		{"setup failure", sandboxBin, []string{"--ro-bind", "/no/such/path", "/x", "true"}, 125, "/no/such/path"},
		{"bad flag", sandboxBin, []string{"--no-such-flag", "true"}, 125, "--no-such-flag"},
		{"bwrap: program status", bwrapBin, []string{"sh", "-c", "exit 7"}, 7, ""},
		{"bwrap: killed by signal", bwrapBin, []string{"sh", "-c", "kill -KILL $$"}, 128 + 9, ""},
		{"bwrap: not found", bwrapBin, []string{"no-such-command-xyz"}, 1, "bwrap: execvp no-such-command-xyz: No such file or directory\n"},
		{"bwrap: setup failure", bwrapBin, []string{"--ro-bind", "/no/such/path", "/x", "true"}, 1, "bwrap: Can't find source path /no/such/path: No such file or directory\n"},
		{"bwrap: bad flag", bwrapBin, []string{"--no-such-flag", "true"}, 1, "bwrap: Unknown option --no-such-flag\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := concat(usrArgs(), c.args)
			if strings.HasPrefix(c.name, "bwrap") {
				args = concat([]string{"--unshare-pid", "--proc", "/proc"}, args)
			}
			r := runWith(t, runOpts{}, c.bin, args...)
			mustCode(t, r, c.code)
			if strings.HasPrefix(c.err, "bwrap: ") {
				if r.stderr != c.err {
					t.Fatalf("stderr %q, want %q", r.stderr, c.err)
				}
			} else if c.err != "" && !strings.Contains(r.stderr, c.err) {
				t.Fatalf("message does not name %q: %s", c.err, r)
			}
			if c.err != "" && strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
				t.Fatalf("want one line of error, got:\n%s", r.stderr)
			}
		})
	}
}

// startSandbox starts the binary and waits until the program prints "ready".
func startSandbox(t *testing.T, bin string, args ...string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	c, rd := startReady(t, bin, false, args...)
	return c.Cmd, rd
}

func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("sandbox did not exit within 20s")
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func TestSignalForwarding(t *testing.T) {
	for _, c := range []struct {
		name string
		bin  string
		pre  []string
		sig  syscall.Signal
	}{
		{"SIGTERM", sandboxBin, nil, syscall.SIGTERM},
		{"SIGINT", sandboxBin, nil, syscall.SIGINT},
		{"SIGHUP new session", sandboxBin, []string{"--new-session"}, syscall.SIGHUP},
		{"SIGUSR1 as-pid-1", sandboxBin, []string{"--as-pid-1"}, syscall.SIGUSR1},
		{"bwrap SIGTERM", bwrapBin, []string{"--unshare-pid", "--proc", "/proc"}, syscall.SIGTERM},
		{"bwrap SIGTERM no pid ns", bwrapBin, nil, syscall.SIGTERM},
	} {
		t.Run(c.name, func(t *testing.T) {
			script := fmt.Sprintf(`trap 'echo got %[1]s; exit 42' %[1]s; echo ready; while :; do sleep 0.05; done`, strings.ToUpper(unixSigName(c.sig)))
			cmd, rd := startSandbox(t, c.bin, concat(c.pre, usrArgs(), []string{"--", "sh", "-c", script})...)
			cmd.Process.Signal(c.sig)
			restCh := make(chan string, 1)
			go func() { rest, _ := rd.ReadString(0); restCh <- rest }()
			var rest string
			select {
			case rest = <-restCh:
			case <-time.After(20 * time.Second):
				t.Fatal("no EOF from the sandbox 20s after the signal")
			}
			code := waitExit(t, cmd)
			if code != 42 || !strings.Contains(rest, "got") {
				t.Fatalf("after %v: exit %d, output %q; want the program's trap to run (42)", c.sig, code, rest)
			}
		})
	}
}

// TestInitSurvivesSignals: the signals a sandbox forwards, sent straight to
// its init (by the program, and from the host), do not end it: in a pid
// namespace the kernel drops them (init keeps their default action), without
// one init absorbs them. The program then runs on and exits 0.
func TestInitSurvivesSignals(t *testing.T) {
	sigs := []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGUSR2}
	for _, c := range []struct {
		name string
		bin  string
		pre  []string
	}{
		// Landlock's signal scope would stop the program's kill at init.
		{"sandbox", sandboxBin, []string{"--no-landlock"}},
		{"bwrap unshare-pid", bwrapBin, []string{"--unshare-pid", "--proc", "/proc"}},
		{"bwrap no pid ns, lock file", bwrapBin, []string{"--lock-file", "/usr"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The program's parent is init (which forks it).
			script := `echo ready; read _; for s in HUP INT QUIT TERM USR1 USR2; do kill -s $s $PPID || exit 3; done; sleep 0.3; echo alive`
			cmd, rd := startSandboxIn(t, c.bin, concat(c.pre, usrArgs(), []string{"--", "sh", "-c", script})...)
			// From the host first: every child of the sandbox's parent is its init.
			inits := childrenOf(cmd.Process.Pid)
			if len(inits) != 1 {
				t.Fatalf("the sandbox (pid %d) has children %v, want its init alone", cmd.Process.Pid, inits)
			}
			for _, sig := range sigs {
				if err := syscall.Kill(inits[0], sig); err != nil {
					t.Fatalf("kill %v init: %v", sig, err)
				}
			}
			time.Sleep(100 * time.Millisecond)
			cmd.stdin.Write([]byte("go\n"))
			rest, _ := rd.ReadString(0)
			if code := waitExit(t, cmd.Cmd); code != 0 || rest != "alive\n" {
				t.Fatalf("exit %d, output %q; want init to survive and the program to say alive", code, rest)
			}
		})
	}
}

// childrenOf lists the children of pid (all its threads').
func childrenOf(pid int) []int {
	var out []int
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, tk := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, tk.Name()))
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// sandboxIn is a sandbox started with a pipe to its stdin.
type sandboxIn struct {
	*exec.Cmd
	stdin io.WriteCloser
}

// startSandboxIn is startSandbox with the program's stdin a pipe.
func startSandboxIn(t *testing.T, bin string, args ...string) (*sandboxIn, *bufio.Reader) {
	t.Helper()
	return startReady(t, bin, true, args...)
}

// startReady starts the sandbox (stdin a pipe when asked, else nothing) and
// waits for the program's "ready" line.
func startReady(t *testing.T, bin string, stdin bool, args ...string) (*sandboxIn, *bufio.Reader) {
	t.Helper()
	c := &sandboxIn{Cmd: exec.Command(bin, args...)}
	if stdin {
		in, err := c.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		c.stdin = in
	}
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.Stderr = os.Stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	rd := bufio.NewReader(out)
	line := make(chan string, 1)
	go func() { l, _ := rd.ReadString('\n'); line <- l }()
	select {
	case l := <-line:
		if l != "ready\n" {
			t.Fatalf("program said %q before ready", l)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("program not ready after 20s")
	}
	return c, rd
}

func unixSigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "term"
	case syscall.SIGINT:
		return "int"
	case syscall.SIGHUP:
		return "hup"
	case syscall.SIGUSR1:
		return "usr1"
	}
	return ""
}

// TestDieWithParent: after kill -9 of the sandbox's parent process nothing
// of the sandbox keeps running.
func TestDieWithParent(t *testing.T) {
	for _, c := range []struct {
		name string
		bin  string
		pre  []string
	}{
		{"sandbox default", sandboxBin, nil},
		{"bwrap --die-with-parent", bwrapBin, []string{"--die-with-parent", "--unshare-pid"}},
		{"bwrap --die-with-parent no pid ns", bwrapBin, []string{"--die-with-parent"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := workDir(t)
			pidFile := filepath.Join(dir, "pid")
			script := "echo $$ > /w/pid.tmp && mv /w/pid.tmp /w/pid; echo ready; exec sleep 1000"
			_ = pidFile
			cmd, _ := startSandbox(t, c.bin, concat(c.pre, usrArgs(), []string{"--bind", dir, "/w", "--", "sh", "-c", script})...)
			// The sandbox's own pid for "sleep" is not ours; find it by its
			// parent chain: every process whose ancestor is cmd.
			kids := descendants(cmd.Process.Pid)
			if len(kids) == 0 {
				t.Fatal("no processes under the sandbox")
			}
			cmd.Process.Kill()
			cmd.Wait()
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				alive := 0
				for _, p := range kids {
					if processAlive(p) {
						alive++
					}
				}
				if alive == 0 {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Fatalf("processes %v still alive 10s after kill -9 of the sandbox", kids)
		})
	}
}

// descendants lists the pids below root (from /proc, as seen on the host).
func descendants(root int) []int {
	parent := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		pp, _ := strconv.Atoi(f[1])
		parent[pid] = pp
	}
	var out []int
	for pid := range parent {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == root {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	return !strings.HasPrefix(s[strings.LastIndexByte(s, ')')+2:], "Z")
}

// TestNothingLeftAfterFailure: a failed setup leaves no process behind:
// no init of either kind (the fast init has the parent's command line), no
// network helper, also when the fast init fails and the Go init starts the
// sandbox again with a network of its own.
func TestNothingLeftAfterFailure(t *testing.T) {
	before := ownProcesses()
	for _, args := range [][]string{
		{"--ro-bind", "/no/such/path", "/x", "true"},
		{"--ro-bind", "/usr", "--chdir", "/no/such/dir", "--", "true"},
		{"--ro-bind", "/usr", "--", "no-such-command-xyz"},
		{"--ro-bind", "/usr", "--chmod", "0755", "/no/such/file", "--", "true"},
		{"--net", "user", "--ro-bind", "/usr", "--ro-bind", "/no/such/path", "/x", "--", "true"},
		{"--net", "user", "--ro-bind", "/usr", "--", "no-such-command-xyz"},
	} {
		r := sb(t, args...)
		if r.code < 125 {
			t.Fatalf("%q: want a sandbox failure status, got %s", args, r)
		}
	}
	time.Sleep(200 * time.Millisecond)
	for pid, cmdline := range ownProcesses() {
		if _, ok := before[pid]; ok {
			continue
		}
		if strings.Contains(cmdline, "stage") || strings.HasPrefix(cmdline, sandboxBin+" ") || strings.Contains(cmdline, "sandbox-net") {
			t.Errorf("left behind: pid %d %s", pid, cmdline)
		}
	}
}

func ownProcesses() map[int]string {
	out := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !processAlive(pid) {
			continue
		}
		b, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		out[pid] = strings.ReplaceAll(string(b), "\x00", " ")
	}
	return out
}

func TestErrorsNameFlagAndFix(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--ro-bind", "/no/such/path", "/x", "true"}, []string{"/no/such/path", "--ro-bind-try"}},
		{[]string{"--bind"}, []string{"--bind"}},
		{[]string{"--ro-bind", "/usr"}, []string{"no command"}},
		{[]string{"--perms", "0755", "--ro-bind", "/usr", "--", "true"}, []string{"--perms"}},
		{[]string{"--hostname", "x", "--no-defaults", "--ro-bind", "/usr", "--", "true"}, []string{"--hostname", "--unshare-uts"}},
		{[]string{"--chdir", "/nope", "--ro-bind", "/usr", "--", "true"}, []string{"--chdir", "/nope"}},
		{[]string{"--userns", "3", "true"}, []string{"--userns", "not supported"}},
		{[]string{"--id-map", "bogus", "true"}, []string{"--id-map", "single"}},
	}
	for _, c := range cases {
		r := sb(t, c.args...)
		if r.code != 125 {
			t.Errorf("%q: want exit 125, got %s", c.args, r)
			continue
		}
		if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.HasPrefix(r.stderr, "sandbox: ") {
			t.Errorf("%q: want one 'sandbox: ' line, got %q", c.args, r.stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%q: message %q does not mention %q", c.args, r.stderr, w)
			}
		}
	}
}

func TestEnvironmentAndCwd(t *testing.T) {
	r := runWith(t, runOpts{env: []string{"PATH=/usr/bin:/bin", "KEEP=1", "DROP=1", "HOME=/home/x"}}, sandboxBin,
		"--setenv", "NEW", "v a l", "--unsetenv", "DROP", "--ro-bind", "/usr", "--chdir", "/tmp", "--", "sh", "-c", "echo $KEEP,$DROP,$NEW,$PWD; pwd")
	mustCode(t, r, 0)
	if r.stdout != "1,,v a l,/tmp\n/tmp\n" {
		t.Fatalf("got %q", r.stdout)
	}
	r = runWith(t, runOpts{env: []string{"PATH=/usr/bin:/bin", "KEEP=1"}}, sandboxBin,
		"--clearenv", "--setenv", "PATH", "/usr/bin", "--ro-bind", "/usr", "--", "env")
	mustCode(t, r, 0)
	got := strings.Fields(r.stdout)
	if len(got) != 2 || got[0] != "PATH=/usr/bin" || !strings.HasPrefix(got[1], "PWD=") {
		t.Fatalf("--clearenv: env is %q", got)
	}
}

// TestUserNamespacesDisabled: with user.max_user_namespaces=0 the user gets
// one line naming the setting and the fix, and nothing runs. The limit is
// set inside a user namespace of our own (its owner may lower it), so the
// host is not touched.
func TestUserNamespacesDisabled(t *testing.T) {
	requireHost(t, haveCmd("unshare"), "unshare(1) is missing (util-linux)")
	for _, c := range []struct {
		bin  string
		code int
		want string
	}{
		{sandboxBin, 125, "user.max_user_namespaces=0"},
		{bwrapBin, 1, "bwrap: "},
	} {
		script := `echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" --unshare-user --ro-bind /usr /usr true`
		r := runWith(t, runOpts{}, "unshare", "--user", "--map-root-user", "sh", "-c", script, c.bin)
		mustCode(t, r, c.code)
		if !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Fatalf("want one line mentioning %q:\n%s", c.want, r)
		}
	}
}

// TestTerminalCtrlCOnce: Ctrl-C on a terminal reaches the program exactly
// once (the terminal signals the whole foreground group, so the sandbox must
// not forward its own copy too).
func TestTerminalCtrlCOnce(t *testing.T) {
	requireHost(t, haveCmd("script"), "script(1) is missing (bsdutils)")
	dir := workDir(t)
	prog := `trap 'n=$((n+1)); echo "INT $n"' INT; echo ready; i=0; while [ $i -lt 40 ]; do sleep 0.05; i=$((i+1)); done; echo "done n=$n"`
	os.WriteFile(filepath.Join(dir, "prog.sh"), []byte(prog+"\n"), 0o644)
	// Three rounds each: the ^C comes right after the program's first line,
	// which once raced with init's set-up of its signal handling.
	for _, bin := range []string{sandboxBin, sandboxBin, sandboxBin, bwrapBin, bwrapBin, bwrapBin} {
		line := fmt.Sprintf("%s %s --ro-bind %s %s -- sh %s/prog.sh", bin, strings.Join(usrArgs(), " "), dir, dir, dir)
		cmd := exec.Command("script", "-qec", line, "/dev/null")
		cmd.Dir = dir
		stdin, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		rd := bufio.NewReader(out)
		var got strings.Builder
		for {
			l, err := rd.ReadString('\n')
			got.WriteString(l)
			if strings.Contains(l, "ready") {
				stdin.Write([]byte{3}) // ^C typed on the terminal
			}
			if err != nil {
				break
			}
		}
		cmd.Wait()
		if !strings.Contains(got.String(), "done n=1") {
			t.Fatalf("%s: want exactly one SIGINT, got:\n%s", bin, got.String())
		}
	}
}

// TestConsoleBound: run from a terminal, --dev binds that terminal at
// /dev/console, as bubblewrap does; through the fast init.
func TestConsoleBound(t *testing.T) {
	requireHost(t, haveCmd("script"), "script(1) is missing (bsdutils)")
	dir := workDir(t)
	prog := `[ "$(stat -L -c %t:%T /proc/$$/fd/1)" = "$(stat -c %t:%T /dev/console)" ] && echo console ok; tr '\0' ' ' </proc/1/cmdline`
	os.WriteFile(filepath.Join(dir, "prog.sh"), []byte(prog+"\n"), 0o644)
	for _, bin := range []string{"/usr/bin/bwrap", bwrapBin} {
		if bin == "/usr/bin/bwrap" && !haveCmd("bwrap") {
			continue
		}
		line := fmt.Sprintf("%s --unshare-all %s --ro-bind %s %s --proc /proc --dev /dev sh %s/prog.sh", bin, strings.Join(usrArgs(), " "), dir, dir, dir)
		out, err := exec.Command("script", "-qec", line, "/dev/null").Output()
		got := strings.ReplaceAll(string(out), "\r", "")
		if err != nil || !strings.HasPrefix(got, "console ok\n") {
			t.Fatalf("%s: %v, %q: want /dev/console to be the terminal", bin, err, got)
		}
		if bin == bwrapBin && (!strings.Contains(got, "\n"+bwrapBin+" ") || strings.Contains(got, "--stage-")) {
			t.Errorf("the console took the Go init: %q", got)
		}
	}
}

// TestHomeNotBoundByDefault: run from the home directory, the sandbox does
// not expose it (keys, tokens) by default, and says so.
func TestHomeNotBoundByDefault(t *testing.T) {
	home := t.TempDir()
	os.Chmod(home, 0o755)
	os.WriteFile(filepath.Join(home, "secret"), []byte("x"), 0o600)
	r := runWith(t, runOpts{dir: home, env: []string{"PATH=/usr/bin:/bin", "HOME=" + home}}, sandboxBin,
		"--ro-bind", "/usr", "--", "sh", "-c", "pwd; ls "+home+"/secret 2>&1")
	mustCode(t, r, 2)
	if !strings.HasPrefix(r.stdout, "/\n") || !strings.Contains(r.stderr, "not binding the working directory") {
		t.Fatalf("home directory handling: %s", r)
	}
	sub := filepath.Join(home, "project")
	os.Mkdir(sub, 0o755)
	r = runWith(t, runOpts{dir: sub, env: []string{"PATH=/usr/bin:/bin", "HOME=" + home}}, sandboxBin, "--ro-bind", "/usr", "--", "pwd")
	mustCode(t, r, 0)
	if r.stdout != sub+"\n" || r.stderr != "" {
		t.Fatalf("a project under home is bound and used: %s", r)
	}
}

// TestOpsAfterRootBind: ops after a bind over / itself land on top of it (a
// regression: they once went to the hidden tmpfs below, leaving the host's
// /proc and /tmp visible).
func TestOpsAfterRootBind(t *testing.T) {
	r := bw(t, "--ro-bind", "/", "/", "--unshare-pid", "--proc", "/proc", "--tmpfs", "/tmp", "sh", "-c",
		"ls /proc | grep -c '^[0-9]'; ls -A /tmp | wc -l")
	mustCode(t, r, 0)
	f := strings.Fields(r.stdout)
	if len(f) != 2 || f[1] != "0" {
		t.Fatalf("/tmp is not the fresh tmpfs: %s", r)
	}
	if n, _ := strconv.Atoi(f[0]); n > 4 {
		t.Fatalf("/proc shows %d processes: the host's /proc is visible", n)
	}
	// The host's /tmp (under the staging tmpfs of the setup) stays what it
	// is in a recursive bind of /.
	dir := workDir(t)
	os.WriteFile(filepath.Join(dir, "marker"), []byte("x"), 0o644)
	r = bw(t, "--ro-bind", "/", "/", "cat", filepath.Join(dir, "marker"))
	mustCode(t, r, 0)
	// And the sandbox personality's default /tmp goes on top of --ro-bind / /
	// while the working directory (under /tmp) is still bound.
	r = runWith(t, runOpts{dir: dir}, sandboxBin, "--ro-bind", "/", "/", "--", "sh", "-c", "pwd; cat marker; ls /tmp")
	mustCode(t, r, 0)
	if !strings.HasPrefix(r.stdout, dir+"\nx") {
		t.Fatalf("cwd under a default /tmp over --ro-bind / /: %s", r)
	}
}

// TestFastInit: a plain bubblewrap sandbox with a pid namespace runs with the
// fast init (the parent's own fork, running raw system calls: its
// /proc/1/cmdline is the parent's), anything it does not take runs with the
// Go init (an exec of our binary), and a failure of the fast init hands the
// start to the Go init, whose messages are bubblewrap's.
func TestFastInit(t *testing.T) {
	base := concat([]string{"--unshare-all"}, usrArgs(), []string{"--proc", "/proc", "--dev", "/dev"})
	cmdline := func(extra ...string) []string {
		r := bw(t, concat(base, extra, []string{"cat", "/proc/1/cmdline"})...)
		mustCode(t, r, 0)
		return strings.Split(strings.TrimSuffix(r.stdout, "\x00"), "\x00")
	}
	if a := cmdline(); a[0] != bwrapBin || strings.HasPrefix(a[1], "--stage-") {
		t.Errorf("fast init: /proc/1/cmdline is %q, want the parent's (%s --unshare-all ...)", a, bwrapBin)
	}
	if a := cmdline("--unshare-user", "--disable-userns"); len(a) < 2 || !strings.HasPrefix(a[1], "--stage-init") {
		t.Errorf("Go init (--disable-userns): /proc/1/cmdline is %q, want the init stage", a)
	}
	// --cap-add: kept in every set, ambient too (the program's execve
	// keeps it); the rest dropped.
	r := bw(t, concat(base, []string{"--cap-add", "CAP_NET_ADMIN", "sh", "-c", "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status; tr '\\0' ' ' </proc/1/cmdline"})...)
	mustCode(t, r, 0)
	for _, set := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if !strings.Contains(r.stdout, set+":\t0000000000001000\n") {
			t.Errorf("--cap-add CAP_NET_ADMIN: %s is not CAP_NET_ADMIN (1<<12) alone: %q", set, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "\n"+bwrapBin+" ") || strings.Contains(r.stdout, "--stage-") {
		t.Errorf("--cap-add took the Go init: %q", r.stdout)
	}
	// --chmod (fchmodat2, Linux 6.6; the Go init before), --remount-ro and
	// --mqueue.
	r = bw(t, concat(base, []string{"--tmpfs", "/t", "--chmod", "0710", "/t", "--remount-ro", "/t", "--mqueue", "/mq",
		"sh", "-c", "stat -c %a /t; touch /t/x 2>/dev/null || echo ro; grep -c ' /mq mqueue ' /proc/self/mounts; tr '\\0' ' ' </proc/1/cmdline"})...)
	mustCode(t, r, 0)
	want := "710\nro\n1\n" + bwrapBin + " "
	if !strings.HasPrefix(r.stdout, want) {
		t.Errorf("--chmod, --remount-ro, --mqueue: %q, want %q", r.stdout, want)
	} else if strings.Contains(r.stdout, "--stage-") && kernelAtLeast(6, 6) {
		t.Errorf("--chmod, --remount-ro, --mqueue took the Go init: %q", r.stdout)
	}
	// The caller's fds of launchers: --info-fd, --json-status-fd,
	// --sync-fd and a seccomp filter that refuses every fork (loaded in
	// the program's process, after init forked it).
	files := make([]*os.File, 5)
	for i := range files {
		f, err := os.CreateTemp(t.TempDir(), "fd")
		if err != nil {
			t.Fatal(err)
		}
		files[i] = f
	}
	files[3].WriteString("go")
	files[4].Write(denyForkFilter(t))
	for _, f := range files[3:] {
		f.Seek(0, 0)
	}
	r = runWith(t, runOpts{files: []*os.File{files[0], files[1], files[2], files[4]}}, bwrapBin, concat(base,
		[]string{"--info-fd", "3", "--json-status-fd", "4", "--sync-fd", "5", "--seccomp", "6", "cat", "/proc/1/cmdline"})...)
	mustCode(t, r, 0)
	if a := strings.Split(r.stdout, "\x00"); a[0] != bwrapBin || strings.HasPrefix(a[1], "--stage-") {
		t.Errorf("with the caller's fds: /proc/1/cmdline is %q, want the fast init's (%s --unshare-all ...)", a, bwrapBin)
	}
	for i, want := range []string{`"child-pid"`, `"child-pid"`} {
		b, _ := os.ReadFile(files[i].Name())
		if !strings.Contains(string(b), want) {
			t.Errorf("fd %d (--info-fd, --json-status-fd) says %q", 3+i, b)
		}
	}
	if b, _ := os.ReadFile(files[1].Name()); !strings.HasSuffix(string(b), `{ "exit-code": 0 }`+"\n") {
		t.Errorf("--json-status-fd says %q, want the exit code last", b)
	}
	// --block-fd, without --info-fd (TestInfoBeforeBlockFD).
	files[3].Seek(0, 0)
	r = runWith(t, runOpts{files: files[2:]}, bwrapBin, concat(base, []string{"--sync-fd", "3", "--block-fd", "4", "cat", "/proc/1/cmdline"})...)
	mustCode(t, r, 0)
	if a := strings.Split(r.stdout, "\x00"); a[0] != bwrapBin || strings.HasPrefix(a[1], "--stage-") {
		t.Errorf("with --block-fd: /proc/1/cmdline is %q, want the fast init's", a)
	}
	// The data ops from the caller's files (read from their offset, which
	// ends at their end, as bubblewrap leaves it) and a lock file.
	data := make([]*os.File, 3)
	for i := range data {
		f, err := os.CreateTemp(t.TempDir(), "data")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "skipped|data %d\n", i)
		f.Seek(int64(len("skipped|")), io.SeekStart)
		data[i] = f
	}
	r = runWith(t, runOpts{files: data}, bwrapBin, concat(base, []string{"--file", "3", "/f", "--bind-data", "4", "/g",
		"--ro-bind-data", "5", "/h", "--lock-file", "/usr/bin/true", "sh", "-c", "cat /f /g /h; grep -q \":$(stat -c %i /usr/bin/true) \" /proc/locks && echo locked; tr '\\0' ' ' </proc/1/cmdline"})...)
	mustCode(t, r, 0)
	if want := "data 0\ndata 1\ndata 2\nlocked\n" + bwrapBin + " "; !strings.HasPrefix(r.stdout, want) || strings.Contains(r.stdout, "--stage-") {
		t.Errorf("data ops and a lock file: %q, want %q and the fast init's command line", r.stdout, want)
	}
	for i, f := range data {
		if off, _ := f.Seek(0, io.SeekCurrent); off != int64(len("skipped|data 0\n")) {
			t.Errorf("data fd %d: offset %d after the sandbox, want its end", 3+i, off)
		}
	}
	r = bw(t, concat(base, []string{"sh", "-c", "echo $PWD; exit 3"})...)
	mustCode(t, r, 3)
	if wd, _ := os.Getwd(); strings.TrimSpace(r.stdout) != "/" && strings.TrimSpace(r.stdout) != wd {
		t.Errorf("PWD inside is %q", r.stdout)
	}
	r = bw(t, concat(base, []string{"--ro-bind", "/no/such/path", "/x", "true"})...)
	mustCode(t, r, 1)
	if r.stderr != "bwrap: Can't find source path /no/such/path: No such file or directory\n" {
		t.Errorf("missing source after the fall-back: %q", r.stderr)
	}
	r = bw(t, concat(base, []string{"no-such-command-xyz"})...)
	mustCode(t, r, 1)
	if r.stderr != "bwrap: execvp no-such-command-xyz: No such file or directory\n" {
		t.Errorf("missing command after the fall-back: %q", r.stderr)
	}
}

// kernelAtLeast says whether the running kernel is at least major.minor.
func kernelAtLeast(major, minor int) bool {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	var ma, mi int
	fmt.Sscanf(string(b), "%d.%d", &ma, &mi)
	return ma > major || (ma == major && mi >= minor)
}

// denyForkFilter is a seccomp program (cBPF, the kernel's struct
// sock_filter) that fails clone, clone3, fork and vfork with EPERM.
func denyForkFilter(t *testing.T) []byte {
	var nrs []uint32
	switch runtime.GOARCH {
	case "amd64":
		nrs = []uint32{56, 57, 58, 435} // clone, fork, vfork, clone3
	case "arm64":
		nrs = []uint32{220, 435} // clone, clone3
	default:
		t.Skipf("no system call numbers for %s", runtime.GOARCH)
	}
	ins := func(code uint16, jt, jf uint8, k uint32) []byte {
		return []byte{byte(code), byte(code >> 8), jt, jf, byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
	}
	prog := ins(0x20, 0, 0, 0) // ld [0]: the system call's number
	for i, nr := range nrs {
		prog = append(prog, ins(0x15, uint8(len(nrs)-i), 0, nr)...) // jeq nr: to the refusal
	}
	prog = append(prog, ins(0x06, 0, 0, 0x7fff0000)...) // ret ALLOW
	prog = append(prog, ins(0x06, 0, 0, 0x00050001)...) // ret ERRNO(EPERM)
	return prog
}

// TestCallerFdLimitKept: the program gets the caller's soft fd limit, as
// under bubblewrap, although the Go runtime raises its own at start (and
// restores it only in what it starts through os/exec): with either init,
// with and without a pid namespace.
func TestCallerFdLimitKept(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max < 1000 {
		t.Skipf("hard fd limit %d", lim.Max)
	}
	// syscall.Setrlimit also stops the runtime from restoring its own
	// original in our children: they get 777.
	want := syscall.Rlimit{Cur: 777, Max: lim.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		t.Fatal(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"fast init", concat([]string{"--unshare-all"}, usrArgs(), []string{"--proc", "/proc"})},
		{"no pid namespace", concat([]string{"--unshare-user"}, usrArgs())},
		{"Go init", concat([]string{"--unshare-all"}, usrArgs(), []string{"--unshare-user", "--disable-userns"})},
	} {
		r := bw(t, concat(c.args, []string{"sh", "-c", "ulimit -Sn"})...)
		mustCode(t, r, 0)
		if got := strings.TrimSpace(r.stdout); got != "777" {
			t.Errorf("%s: the program's soft fd limit is %s, want the caller's 777", c.name, got)
		}
	}
}

// TestStartupInitOrder: package startup's init (one P, the main stack grown
// once) and package nofile's (the caller's fd limit) run before the
// packages whose inits they must precede: the runtime's initialisation
// order sorts by import path, which an import added to either could change.
func TestStartupInitOrder(t *testing.T) {
	cmd := exec.Command(sandboxBin, "--version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sandbox --version: %v\n%s", err, out)
	}
	pos := map[string]int{}
	for i, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "init" {
			pos[f[1]] = i
		}
	}
	for _, c := range []struct{ first, then string }{
		{"sandbox/runtime/startup", "sync"},
		{"sandbox/runtime/startup", "syscall"},
		{"sandbox/runtime/startup", "os"},
		{"sandbox/runtime/nofile", "syscall"},
	} {
		a, okA := pos[c.first]
		b, okB := pos[c.then]
		if !okA || !okB || a > b {
			t.Errorf("init of %s (line %d, traced %v) must come before %s's (line %d, traced %v)\n%s", c.first, a, okA, c.then, b, okB, out)
		}
	}
}
