package runtime

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"sandbox/spec"
)

// probeData is read-only data of the test binary (a constant: 7 KiB of
// it, in the file), for exeFileOffset.
const (
	probe1    = "sandbox exeFileOffset probe "
	probe4    = probe1 + probe1 + probe1 + probe1
	probe16   = probe4 + probe4 + probe4 + probe4
	probeData = probe16 + probe16 + probe16 + probe16
)

// TestExeFileOffset finds a string of this binary in its file; sameBytes
// refuses a wrong offset.
func TestExeFileOffset(t *testing.T) {
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	off, ok := exeFileOffset(self, uint64(unsafeStringAddr(probeData)), len(probeData))
	if !ok {
		t.Fatal("exeFileOffset: not found in /proc/self/exe")
	}
	if !sameBytes(self, off, probeData) {
		t.Fatalf("exeFileOffset = %d: the file holds other bytes there", off)
	}
	if sameBytes(self, off+1, probeData) {
		t.Error("sameBytes accepted an offset one byte off")
	}
	if _, ok := exeFileOffset(self, 0x10, 16); ok {
		t.Error("exeFileOffset found an address below every segment")
	}
	tmp, _ := os.CreateTemp(t.TempDir(), "notelf")
	tmp.WriteString("#!/bin/sh\n")
	if _, ok := exeFileOffset(tmp, uint64(unsafeStringAddr(probeData)), len(probeData)); ok {
		t.Error("exeFileOffset read a script as ELF")
	}
}

// TestMemfdExecutable runs a program from the sealed memfd it makes.
func TestMemfdExecutable(t *testing.T) {
	truePath, b := trueExecutable(t)
	for _, exe := range []string{string(b), probeData} {
		f, err := memfdExecutable("probe", exe)
		if err != nil {
			t.Fatal(err)
		}
		seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
		const want = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
		if err != nil || seals&want != want {
			t.Errorf("seals = %#x, %v; want %#x", seals, err, want)
		}
		got, err := os.ReadFile("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
		if err != nil || string(got) != exe {
			t.Errorf("memfd holds %d bytes (%v), want the %d given", len(got), err, len(exe))
		}
		if exe == string(b) {
			cmd := exec.Command("/proc/self/fd/3", "ignored")
			cmd.ExtraFiles = []*os.File{f}
			if err := cmd.Run(); err != nil {
				t.Errorf("run %s from the memfd: %v", truePath, err)
			}
		}
		f.Close()
	}
}

// TestFillMemfd: what is in this binary's file is copied from there by
// the kernel, anything else written from memory; the same bytes either way.
func TestFillMemfd(t *testing.T) {
	heap := strings.Repeat("x", 5000)
	for _, c := range []struct {
		name, data string
		inKernel   bool
	}{{"read-only data", probeData, true}, {"heap", heap, false}} {
		fd, err := unix.MemfdCreate("fill", unix.MFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		inKernel, err := fillMemfd(fd, c.data)
		got, _ := os.ReadFile("/proc/self/fd/" + strconv.Itoa(fd))
		unix.Close(fd)
		if err != nil || inKernel != c.inKernel || string(got) != c.data {
			t.Errorf("%s: fillMemfd = %v, %v (%d bytes); want %v, nil (%d bytes)", c.name, inKernel, err, len(got), c.inKernel, len(c.data))
		}
	}
}

// TestNoNetHelper: a binary built without go generate says so for
// --net user with the built-in stack, and leaves the other backends alone.
func TestNoNetHelper(t *testing.T) {
	s := &spec.Spec{Net: spec.Net{Mode: spec.NetUser}}
	_, err := newUserNet(s, Options{})
	var se *SetupError
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "built without its network stack") || !strings.Contains(se.Hint, "go generate ./cmd/sandbox") || se.Exit != ExitSetup {
		t.Fatalf("newUserNet without the helper: %v (%+v)", err, se)
	}
	n, err := newUserNet(s, Options{NetHelper: "\x7fELF"})
	if err != nil {
		t.Fatalf("newUserNet with a helper: %v", err)
	}
	n.close()
}

// TestStartHelperFDs starts a stand-in helper (true(1)) from its memfd
// under many descriptor layouts (every pattern of holes among 7 numbers),
// with and without a log. The memfd once went by its number here, which
// Go's fork could reuse in the child for its status pipe when another
// goroutine had just freed a lower number (exec then found a pipe: EACCES,
// about 1 start in 50). That needs concurrent closes, which this test does
// not stage: test/net_test.go's TestNetUserStarts starts sandboxes instead.
func TestStartHelperFDs(t *testing.T) {
	_, exe := trueExecutable(t)
	var err error
	const holes = 7
	pad := make([]*os.File, holes)
	defer func() {
		for _, f := range pad {
			if f != nil {
				f.Close()
			}
		}
	}()
	for layout := range 1 << holes {
		// Open pads lowest number first, then close the layout's holes.
		for i := range pad {
			if pad[i] == nil {
				if pad[i], err = os.Open("/dev/null"); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i := range pad {
			if layout&(1<<i) != 0 {
				pad[i].Close()
				pad[i] = nil
			}
		}
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		n := &userNet{s: &spec.Spec{}, helper: string(exe), sock: os.NewFile(uintptr(fds[0]), "net")}
		peer := os.NewFile(uintptr(fds[1]), "peer")
		if layout%2 == 1 {
			if n.log, err = os.CreateTemp(t.TempDir(), "log"); err != nil {
				t.Fatal(err)
			}
		}
		err = n.startHelper()
		if err == nil {
			n.helperCmd.Wait()
			n.reply.Close()
		}
		peer.Close()
		if err != nil {
			t.Fatalf("layout %#b: %v", layout, err)
		}
	}
}

// trueExecutable returns true(1)'s path and bytes: a stand-in executable.
func trueExecutable(t *testing.T) (string, []byte) {
	t.Helper()
	path, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}
