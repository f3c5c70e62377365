//go:build linux

package runtime

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"sandbox/spec"
)

// runFastProg forks this test process into prog (no namespace) and returns
// the child's exit status and what it wrote to the report pipe.
func runFastProg(t *testing.T, c *fastCompiler) (int, []byte) {
	t.Helper()
	if c.p.keep == nil {
		c.p.keep = []int{0, 1, 2}
	}
	c.p.fallback = []byte("FALLBACK")
	var fds [6]int
	for i := 0; i < 3; i++ {
		if err := unix.Pipe2(fds[2*i:2*i+2], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
	}
	pid, pidfd, err := c.p.start(fds[0], fds[3], fds[5])
	for _, fd := range []int{fds[0], fds[3], fds[5]} {
		unix.Close(fd)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pidfd)
	defer unix.Close(fds[1])
	defer unix.Close(fds[4])
	rep := os.NewFile(uintptr(fds[2]), "report")
	defer rep.Close()
	b, _ := io.ReadAll(rep)
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		t.Fatal(err)
	}
	return ExitCode(ws), b
}

func newTestCompiler() *fastCompiler {
	c := &fastCompiler{p: &fastProg{}, plan: &Plan{Spec: &spec.Spec{}}, strs: map[string]*byte{}}
	c.p.slots = make([]uintptr, slotFirstSrc)
	for i := range c.p.slots {
		c.p.slots[i] = ^uintptr(0)
	}
	return c
}

// TestFastInterpreter runs small programs in a forked child of this
// (multi-threaded) test process: results kept in slots, ignored and
// skipped errnos, the directory test, the 32-bit copies and checks, the
// fall-back report on a failure, and the exit.
func TestFastInterpreter(t *testing.T) {
	if !fastArch() {
		t.Skip("the fast init knows amd64 and arm64 only")
	}
	dir := t.TempDir()
	c := newTestCompiler()
	// A directory made twice: EEXIST ignored the second time.
	c.sys(unix.SYS_MKDIRAT, atFDCWD, c.str(dir+"/d"), 0o700)
	i := c.sys(unix.SYS_MKDIRAT, atFDCWD, c.str(dir+"/d"), 0o700)
	c.op(i).ignore[0] = int16(unix.EEXIST)
	// A failing call skipped over a failure.
	j := c.sys(unix.SYS_MKDIRAT, atFDCWD, c.str(dir+"/missing/x"), 0o700)
	c.op(j).skipIf[0] = int16(unix.ENOENT)
	c.emit(fastOp{kind: fkFail})
	c.op(j).target = c.here()
	// The directory, opened into a slot and seen as one.
	o := c.sys(unix.SYS_OPENAT, atFDCWD, c.str(dir+"/d"), unix.O_PATH|unix.O_CLOEXEC)
	c.op(o).out = slotTmp + 1
	st := c.bufp(int(unsafe.Sizeof(unix.Stat_t{})))
	f := c.sys(unix.SYS_FSTAT, 0, uintptr(st))
	c.op(f).in[0] = slotTmp + 1
	d := c.emit(fastOp{kind: fkIsDir, ptr: st})
	c.emit(fastOp{kind: fkFail})
	c.op(d).target = c.here()
	// A file created in it by the slot's fd, its number stored and copied
	// into the data written, and zero words checked.
	w := c.sys(unix.SYS_OPENAT, 0, c.str("f"), unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	c.op(w).in[0], c.op(w).out = slotTmp+1, slotTmp2+1
	data := c.bufp(8)
	zero := c.bufp(8)
	c.emit(fastOp{kind: fkStore32, ptr: data, in: [6]uint8{slotTmp2 + 1}})
	c.emit(fastOp{kind: fkCopy32, ptr: data, dst: unsafe.Add(data, 4)})
	c.emit(fastOp{kind: fkEq32, ptr: zero, dst: unsafe.Add(zero, 4), args: [6]uintptr{1: 1}})
	wr := c.sys(unix.SYS_WRITE, 0, uintptr(data), 8)
	c.op(wr).in[0] = slotTmp2 + 1
	c.op(wr).check, c.op(wr).want = true, 8
	c.closeSlot(slotTmp2)
	c.closeSlot(slotTmp)
	c.sys(unix.SYS_EXIT_GROUP, 7)
	code, rep := runFastProg(t, c)
	if code != 7 || len(rep) != 0 {
		t.Fatalf("exit %d, report %q: want 7 and none", code, rep)
	}
	b, err := os.ReadFile(filepath.Join(dir, "d", "f"))
	if err != nil || len(b) != 8 || !bytes.Equal(b[:4], b[4:]) || b[0] < 3 {
		t.Fatalf("data %v, %v: want the file's fd twice", b, err)
	}

	// The caller's file copied from its offset, which does not move,
	// through a buffer smaller than the data.
	src, err := os.CreateTemp(dir, "src")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	src.WriteString("0123456789abcdefghij")
	src.Seek(3, io.SeekStart)
	c = newTestCompiler()
	c.p.keep = []int{0, 1, 2, int(src.Fd())}
	o = c.sys(unix.SYS_OPENAT, atFDCWD, c.str(dir+"/copy"), unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	c.op(o).out = slotTmp2 + 1
	c.emit(fastOp{kind: fkCopyFD, args: [6]uintptr{0: src.Fd(), 2: 4}, in: [6]uint8{1: slotTmp2 + 1}, ptr: c.bufp(4)})
	c.closeSlot(slotTmp2)
	c.sys(unix.SYS_EXIT_GROUP, 0)
	if code, rep = runFastProg(t, c); code != 0 || len(rep) != 0 {
		t.Fatalf("copy: exit %d, report %q", code, rep)
	}
	b, err = os.ReadFile(filepath.Join(dir, "copy"))
	if off, _ := src.Seek(0, io.SeekCurrent); err != nil || string(b) != "3456789abcdefghij" || off != 3 {
		t.Fatalf("copy: %q, %v, source offset %d: want the data from offset 3, which stays", b, err, off)
	}

	// A failure: the fall-back report, and the sandbox's setup status.
	c = newTestCompiler()
	c.sys(unix.SYS_MKDIRAT, atFDCWD, c.str(dir+"/missing/y"), 0o700)
	c.sys(unix.SYS_EXIT_GROUP, 0)
	code, rep = runFastProg(t, c)
	if code != ExitSetup || string(rep) != "FALLBACK" {
		t.Fatalf("exit %d, report %q: want %d and the fall-back report", code, rep, ExitSetup)
	}

	// A check that does not hold fails too.
	c = newTestCompiler()
	g := c.sys(unix.SYS_GETPID)
	c.op(g).check, c.op(g).want = true, 1
	c.sys(unix.SYS_EXIT_GROUP, 0)
	if code, rep = runFastProg(t, c); code != ExitSetup || string(rep) != "FALLBACK" {
		t.Fatalf("a failed check: exit %d, report %q", code, rep)
	}
}
