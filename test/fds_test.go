package test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	sbruntime "sandbox/runtime"
)

// startHeld starts bwrap with a user and a pid namespace, --info-fd 3 and
// --userns-block-fd 4 before args, and returns it, its child's pid from
// --info-fd, and the write end that releases it. out, if not nil, takes
// its output.
func startHeld(t *testing.T, out io.Writer, args []string) (*exec.Cmd, int, *os.File) {
	t.Helper()
	infoR, infoW, _ := os.Pipe()
	blockR, blockW, _ := os.Pipe()
	defer infoR.Close()
	cmd := exec.Command(bwrapBin, concat([]string{"--unshare-user", "--unshare-pid", "--info-fd", "3", "--userns-block-fd", "4"}, args)...)
	cmd.ExtraFiles = []*os.File{infoW, blockR}
	if out != nil {
		cmd.Stdout, cmd.Stderr = out, out
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	infoW.Close()
	blockR.Close()
	var info struct {
		Pid int `json:"child-pid"`
	}
	b, err := io.ReadAll(infoR)
	if err != nil || json.Unmarshal(b, &info) != nil || info.Pid == 0 {
		cmd.Process.Kill()
		blockW.Close()
		t.Fatalf("info: %q %v", b, err)
	}
	return cmd, info.Pid, blockW
}

// TestUsernsBlockFD: the caller learns the pid from --info-fd, writes the id
// maps itself, then releases the sandbox through --userns-block-fd.
func TestUsernsBlockFD(t *testing.T) {
	requireUser(t)
	var out strings.Builder
	cmd, pid, blockW := startHeld(t, &out, concat([]string{"--proc", "/proc"}, usrArgs(),
		[]string{"cat", "/proc/self/uid_map", "/proc/self/gid_map"}))
	defer blockW.Close()
	proc := fmt.Sprintf("/proc/%d/", pid)
	for _, w := range []struct{ file, data string }{
		{"uid_map", fmt.Sprintf("0 %d 1\n", os.Getuid())},
		{"setgroups", "deny"},
		{"gid_map", fmt.Sprintf("0 %d 1\n", os.Getgid())},
	} {
		if err := os.WriteFile(proc+w.file, []byte(w.data), 0); err != nil {
			cmd.Process.Kill()
			t.Fatalf("write %s: %v", w.file, err)
		}
	}
	blockW.Write([]byte{1})
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("sandbox did not finish")
	}
	f := strings.Fields(out.String())
	if len(f) != 6 || f[0] != "0" || f[1] != fmt.Sprint(os.Getuid()) || f[3] != "0" {
		t.Fatalf("maps inside: %q", out.String())
	}
}

// TestParentDiesBeforePlan: init, cloned and waiting for its plan, ends by
// itself when the parent dies before sending it (it reads EOF), so a signal
// that kills the parent that early (the parent catches the forwarded
// signals only from just before the plan goes out) leaves nothing behind.
// The parent is held between the clone and the plan by --userns-block-fd.
func TestParentDiesBeforePlan(t *testing.T) {
	requireUser(t)
	cmd, pid, blockW := startHeld(t, nil, concat(usrArgs(), []string{"true"}))
	defer blockW.Close()
	cmd.Process.Kill()
	cmd.Wait()
	// init is not our child: it is gone, or a zombie of whoever reaps
	// orphans here.
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return // gone
		}
		if f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:])); len(f) > 0 && f[0] == "Z" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("init (pid %d) still runs 10 s after its parent was killed before the plan: %s", pid, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBlockFDHoldsTheProgram: nothing runs until a byte arrives on --block-fd.
func TestBlockFDHoldsTheProgram(t *testing.T) {
	blockR, blockW, _ := os.Pipe()
	defer blockW.Close()
	cmd := exec.Command(sandboxBin, "--block-fd", "3", "--ro-bind", "/usr", "--", "echo", "ran")
	cmd.ExtraFiles = []*os.File{blockR}
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	blockR.Close()
	lines := make(chan string, 1)
	go func() { l, _ := bufio.NewReader(out).ReadString('\n'); lines <- l }()
	select {
	case l := <-lines:
		t.Fatalf("program ran before the block fd was written: %q", l)
	case <-time.After(500 * time.Millisecond):
	}
	blockW.Write([]byte{1})
	select {
	case l := <-lines:
		if l != "ran\n" {
			t.Fatalf("got %q", l)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("program did not run after the block fd was written")
	}
	cmd.Wait()
}

// TestInfoBeforeBlockFD: a caller that reads --info-fd before it writes to
// --block-fd (to set something up for the pid first) gets the info while
// the program is held, in both personalities.
func TestInfoBeforeBlockFD(t *testing.T) {
	for _, c := range []struct {
		bin  string
		args []string
	}{
		{sandboxBin, []string{"--info-fd", "3", "--block-fd", "4", "--ro-bind", "/usr", "--", "echo", "ran"}},
		{bwrapBin, concat([]string{"--unshare-pid"}, usrArgs(), []string{"--info-fd", "3", "--block-fd", "4", "echo", "ran"})},
	} {
		infoR, infoW, _ := os.Pipe()
		blockR, blockW, _ := os.Pipe()
		cmd := exec.Command(c.bin, c.args...)
		cmd.ExtraFiles = []*os.File{infoW, blockR}
		var out strings.Builder
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		infoW.Close()
		blockR.Close()
		info := make(chan string, 1)
		go func() { b, _ := io.ReadAll(infoR); info <- string(b) }()
		select {
		case i := <-info:
			if !strings.Contains(i, `"child-pid"`) {
				t.Errorf("%s: info %q", c.bin, i)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%s: no --info-fd while the program waits on --block-fd", c.bin)
		}
		blockW.Write([]byte{1})
		blockW.Close()
		if err := cmd.Wait(); err != nil || out.String() != "ran\n" {
			t.Fatalf("%s: %v, %q: want the program to run once released", c.bin, err, out.String())
		}
		infoR.Close()
	}
}

// TestCallerFDsPassThrough: descriptors the caller leaves open reach the
// program at the same numbers; the sandbox's own do not.
func TestCallerFDsPassThrough(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "fd")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("passed\n")
	f.Seek(0, 0)
	r := runWith(t, runOpts{files: []*os.File{nil, nil, f}}, sandboxBin, "--ro-bind", "/usr", "--", "sh", "-c", "cat <&5; ls /proc/self/fd")
	mustCode(t, r, 0)
	lines := strings.Fields(r.stdout)
	if lines[0] != "passed" {
		t.Fatalf("fd 5 not passed: %s", r)
	}
	// 0 1 2, 5, ls's own directory fd (3), and whatever this test process
	// itself inherited without close-on-exec (os/exec passes those on).
	want := map[string]bool{"0": true, "1": true, "2": true, "3": true, "5": true}
	for _, fd := range sbruntime.NonCloexecFDs() {
		want[fmt.Sprint(fd)] = true
	}
	for _, fd := range lines[1:] {
		if !want[fd] {
			t.Fatalf("fd %s of the sandbox leaked into the program (fds: %q)", fd, lines[1:])
		}
	}
}

// TestInfoFDSaysIDMapping: the sandbox personality's --info-fd and
// --json-status-fd documents say which id mapping was used.
func TestInfoFDSaysIDMapping(t *testing.T) {
	infoR, infoW, _ := os.Pipe()
	statR, statW, _ := os.Pipe()
	defer infoR.Close()
	defer statR.Close()
	cmd := exec.Command(sandboxBin, "--info-fd", "3", "--json-status-fd", "4", "--ro-bind", "/usr", "--", "true")
	cmd.ExtraFiles = []*os.File{infoW, statW}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	infoW.Close()
	statW.Close()
	info, _ := io.ReadAll(infoR)
	status, _ := io.ReadAll(statR)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(info, &doc); err != nil {
		t.Fatalf("info is not JSON: %q", info)
	}
	kind, _ := doc["id-mapping"].(string)
	if kind != "single" && kind != "subordinate-range" {
		t.Fatalf("info has no id-mapping: %q", info)
	}
	if abi, ok := doc["landlock-abi"].(float64); !ok || abi < 0 {
		t.Fatalf("info has no landlock-abi: %q", info)
	}
	lines := strings.Split(strings.TrimSpace(string(status)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"id-mapping": "`+kind+`"`) || lines[1] != `{ "exit-code": 0 }` {
		t.Fatalf("json status: %q", status)
	}
}

// seccompAllowAllProg is one cBPF instruction: return SECCOMP_RET_ALLOW.
const seccompAllowAllProg = "\x06\x00\x00\x00\x00\x00\xff\x7f"

// TestSeccompFDsStack: a caller's --seccomp/--add-seccomp-fd programs are
// loaded after the default policy (sandbox) or alone (bwrap); bad data is
// refused with the flag named.
func TestSeccompFDsStack(t *testing.T) {
	filters := func(bin string, pre []string, progs ...string) result {
		var files []*os.File
		args := append([]string{}, pre...)
		for i, p := range progs {
			f, err := os.CreateTemp(t.TempDir(), "bpf")
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(p)
			f.Seek(0, 0)
			files = append(files, f)
			args = append(args, "--add-seccomp-fd", fmt.Sprint(3+i))
		}
		args = append(args, concat(usrArgs(), []string{"--", "sh", "-c", "grep Seccomp_filters /proc/self/status"})...)
		if bin == bwrapBin {
			args = concat([]string{"--unshare-pid", "--proc", "/proc"}, args)
		}
		return runWith(t, runOpts{files: files}, bin, args...)
	}
	for _, c := range []struct {
		bin   string
		progs int
		want  string
	}{
		{sandboxBin, 0, "1"}, {sandboxBin, 2, "3"}, {bwrapBin, 0, "0"}, {bwrapBin, 1, "1"},
	} {
		progs := make([]string, c.progs)
		for i := range progs {
			progs[i] = seccompAllowAllProg
		}
		r := filters(c.bin, nil, progs...)
		mustCode(t, r, 0)
		if f := strings.Fields(r.stdout); len(f) != 2 || f[1] != c.want {
			t.Errorf("%s with %d programs: %q, want Seccomp_filters %s", c.bin, c.progs, r.stdout, c.want)
		}
	}
	r := filters(sandboxBin, nil, "\x06\x00\x00")
	if r.code != 125 || !strings.Contains(r.stderr, "--seccomp") || !strings.Contains(r.stderr, "multiple of 8") {
		t.Fatalf("bad seccomp data: %s", r)
	}
	r = filters(bwrapBin, nil, "\x06\x00\x00")
	if r.code != 1 || r.stderr != "bwrap: Invalid seccomp data, must be multiple of 8\n" {
		t.Fatalf("bwrap, bad seccomp data: %s", r)
	}
}

// TestPrintPolicy: --print-policy describes the filter in words and
// follows --allow.
func TestPrintPolicy(t *testing.T) {
	r := sb(t, "--print-policy")
	mustCode(t, r, 0)
	for _, w := range []string{"TIOCSTI", "CLONE_NEWUSER", "keyctl", "ptrace"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("--print-policy does not mention %s", w)
		}
	}
	r2 := sb(t, "--allow", "ptrace", "--print-policy")
	mustCode(t, r2, 0)
	if r2.stdout == r.stdout {
		t.Error("--allow ptrace does not change the printed policy")
	}
	r = sb(t, "--allow", "nonsense", "--print-policy")
	if r.code != 125 || !strings.Contains(r.stderr, "--allow") {
		t.Fatalf("--allow nonsense: %s", r)
	}
}
