package secure

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const denyFSChildEnv = "SANDBOX_TEST_DENYFS"

// TestDenyFilesystem: after DenyFilesystem, no thread of the process (those
// that ran before, locked ones included, and those started after) can open
// or run anything by path; descriptors opened before still work.
func TestDenyFilesystem(t *testing.T) {
	if LandlockABI() < 1 {
		t.Fatal("this kernel has no Landlock: DenyFilesystem would do nothing here")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDenyFilesystemChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), denyFSChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestDenyFilesystemChild") {
		t.Fatalf("child: %v\n%s", err, out)
	}
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
	// Threads that exist before: each locked to its goroutine.
	type probe struct{ do, done chan func() string }
	var locked []probe
	for range 3 {
		p := probe{make(chan func() string), make(chan func() string)}
		go func() {
			runtime.LockOSThread()
			for f := range p.do {
				res := f()
				p.done <- func() string { return res }
			}
		}()
		locked = append(locked, p)
	}
	abi, err := DenyFilesystem()
	if err != nil || abi < 1 {
		t.Fatalf("DenyFilesystem = %d, %v", abi, err)
	}
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
	for i, p := range locked {
		p.do <- check
		if res := (<-p.done)(); res != "" {
			t.Errorf("thread locked before, %d: %s", i, res)
		}
	}
	// A thread started after.
	res := make(chan string)
	go func() {
		runtime.LockOSThread() // a new thread: this goroutine's dies with it
		res <- check()
	}()
	if r := <-res; r != "" {
		t.Errorf("thread started after: %s", r)
	}
	if r := check(); r != "" {
		t.Errorf("test goroutine: %s", r)
	}
	b := make([]byte, 64)
	if _, err := before.Read(b); err != nil {
		t.Errorf("read a file opened before: %v", err)
	}
}
