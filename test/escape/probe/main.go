// Command probe tries one escape or privilege gain from inside a sandbox and
// prints what happened: "ok" when the attempt succeeded, else the errno name
// (EPERM, EROFS...). The escape tests run it inside sandboxes and assert it
// fails the way it must.
//
// Usage: probe CASE [ARGS...]
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	runtime.LockOSThread()
	// Closing a pty that became our controlling terminal hangs it up.
	signal.Ignore(syscall.SIGHUP)
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe CASE [ARGS...]")
		os.Exit(2)
	}
	out, err := run(os.Args[1], os.Args[2:])
	if err != nil {
		fmt.Println(errName(err))
		return
	}
	if out == "" {
		out = "ok"
	}
	fmt.Println(out)
}

func errName(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		if n := unix.ErrnoName(en); n != "" {
			return n
		}
		return fmt.Sprintf("errno %d", int(en))
	}
	return "error: " + err.Error()
}

func arg(a []string, i int) string {
	if i < len(a) {
		return a[i]
	}
	return ""
}

func num(s string) uintptr {
	v, _ := strconv.ParseUint(s, 0, 64)
	return uintptr(v)
}

func run(c string, a []string) (string, error) {
	switch c {
	case "write":
		f, err := os.OpenFile(arg(a, 0), os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return "", err
		}
		defer f.Close()
		_, err = f.Write([]byte("x"))
		return "", err
	case "mkdir":
		return "", unix.Mkdir(arg(a, 0), 0o755)
	case "mknod":
		return "", unix.Mknod(arg(a, 0), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3)))
	case "mount":
		return "", unix.Mount(arg(a, 0), arg(a, 1), arg(a, 0), 0, "")
	case "remount-rw":
		return "", unix.Mount("", arg(a, 0), "", unix.MS_REMOUNT|unix.MS_BIND, "")
	case "setattr-rw":
		return "", unix.MountSetattr(unix.AT_FDCWD, arg(a, 0), 0, &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY})
	case "chroot":
		return "", unix.Chroot(arg(a, 0))
	case "kill":
		return "", unix.Kill(int(num(arg(a, 0))), syscall.Signal(num(arg(a, 1))))
	case "connect-abstract":
		c, err := net.DialTimeout("unix", "@"+arg(a, 0), 2*time.Second)
		if err != nil {
			return "", unwrapNet(err)
		}
		c.Close()
		return "", nil
	case "connect-tcp":
		c, err := net.DialTimeout("tcp", arg(a, 0), 2*time.Second)
		if err != nil {
			return "", unwrapNet(err)
		}
		c.Close()
		return "", nil
	case "open":
		flags := unix.O_RDONLY
		if arg(a, 1) == "w" {
			flags = unix.O_WRONLY
		}
		fd, err := unix.Open(arg(a, 0), flags|unix.O_CLOEXEC, 0)
		if err == nil {
			unix.Close(fd)
		}
		return "", err
	case "readlink":
		_, err := os.Readlink(arg(a, 0))
		return "", unwrapPath(err)
	case "ptrace-attach":
		return "", unix.PtraceAttach(int(num(arg(a, 0))))
	case "sys":
		return "", sys(arg(a, 0))
	case "int80":
		// In a child: where the kernel has the i386 entry disabled
		// (ia32_emulation=0), int $0x80 is a general protection fault.
		cmd := exec.Command("/proc/self/exe", append([]string{"int80-child"}, a...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if strings.Contains(stderr.String(), "SIGSEGV") && strings.Contains(stderr.String(), "int80") {
			return "NO-I386-ENTRY", nil // the Go runtime turned the fault into exit 2
		}
		if err != nil {
			return "", fmt.Errorf("%v: %s", err, stderr.String())
		}
		return strings.TrimSpace(string(out)), nil
	case "int80-child":
		// i386 numbers: the test passes them (e.g. 288 keyctl, 310 unshare).
		r := int80(num(arg(a, 0)), num(arg(a, 1)), num(arg(a, 2)), num(arg(a, 3)))
		if e := -int64(r); e > 0 && e < 4096 {
			return "", syscall.Errno(e)
		}
		return "", nil
	case "tiocsti":
		return "", tiocsti(arg(a, 0) == "high")
	case "ioctl-high-tcgets":
		return "", ioctlHighTCGETS()
	case "exec":
		return "", unix.Exec(arg(a, 0), a, os.Environ())
	case "euid":
		return strconv.Itoa(os.Geteuid()), nil
	case "status":
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return "", err
		}
		var keep []string
		for _, l := range strings.Split(string(b), "\n") {
			for _, p := range []string{"Cap", "NoNewPrivs", "Seccomp:"} {
				if strings.HasPrefix(l, p) {
					keep = append(keep, strings.Join(strings.Fields(l), " "))
				}
			}
		}
		return strings.Join(keep, "\n"), nil
	case "fds":
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return "", err
		}
		var n []string
		for _, e := range ents {
			n = append(n, e.Name())
		}
		return strings.Join(n, " "), nil
	}
	return "", fmt.Errorf("unknown case %q", c)
}

func unwrapNet(err error) error {
	var en syscall.Errno
	if errors.As(err, &en) {
		return en
	}
	return err
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// sys makes one raw system call with harmless arguments; the sandbox must
// refuse it before the kernel looks at them.
func sys(name string) error {
	raw := func(trap uintptr, a ...uintptr) error {
		var v [6]uintptr
		copy(v[:], a)
		_, _, e := unix.Syscall6(trap, v[0], v[1], v[2], v[3], v[4], v[5])
		if e != 0 {
			return e
		}
		return nil
	}
	switch name {
	case "keyctl":
		return raw(unix.SYS_KEYCTL, 0 /* KEYCTL_GET_KEYRING_ID */, ^uintptr(2) /* session */, 0)
	case "add_key":
		return raw(unix.SYS_ADD_KEY, 0, 0, 0, 0, 0)
	case "request_key":
		return raw(unix.SYS_REQUEST_KEY, 0, 0, 0, 0)
	case "bpf":
		return raw(unix.SYS_BPF, 0, 0, 0)
	case "perf_event_open":
		return raw(unix.SYS_PERF_EVENT_OPEN, 0, 0, ^uintptr(0), ^uintptr(0), 0)
	case "userfaultfd":
		return raw(unix.SYS_USERFAULTFD, 0)
	case "kexec_load":
		return raw(unix.SYS_KEXEC_LOAD, 0, 0, 0, 0)
	case "init_module":
		return raw(unix.SYS_INIT_MODULE, 0, 0, 0)
	case "finit_module":
		return raw(unix.SYS_FINIT_MODULE, ^uintptr(0), 0, 0)
	case "delete_module":
		return raw(unix.SYS_DELETE_MODULE, 0, 0)
	case "acct":
		return raw(unix.SYS_ACCT, 0)
	case "quotactl":
		return raw(unix.SYS_QUOTACTL, 0, 0, 0, 0)
	case "swapon":
		return raw(unix.SYS_SWAPON, 0, 0)
	case "swapoff":
		return raw(unix.SYS_SWAPOFF, 0)
	case "reboot":
		return raw(unix.SYS_REBOOT, 0, 0, 0, 0)
	case "syslog":
		return raw(unix.SYS_SYSLOG, 3 /* READ_ALL */, 0, 0)
	case "fsopen":
		return raw(unix.SYS_FSOPEN, 0, 0)
	case "open_tree":
		return raw(unix.SYS_OPEN_TREE, ^uintptr(99), 0, 0)
	case "move_mount":
		return raw(unix.SYS_MOVE_MOUNT, ^uintptr(99), 0, ^uintptr(99), 0, 0)
	case "mount_setattr":
		return raw(unix.SYS_MOUNT_SETATTR, ^uintptr(99), 0, 0, 0, 0)
	case "umount2":
		return raw(unix.SYS_UMOUNT2, 0, 0)
	case "pivot_root":
		return raw(unix.SYS_PIVOT_ROOT, 0, 0)
	case "chroot":
		return raw(unix.SYS_CHROOT, 0)
	case "io_uring_setup":
		return raw(unix.SYS_IO_URING_SETUP, 1, 0)
	case "personality-bsd":
		// PER_BSD; the default (0) and the query (0xffffffff) stay allowed.
		return raw(unix.SYS_PERSONALITY, 6)
	case "personality-query":
		_, _, e := unix.Syscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
		if e != 0 {
			return e
		}
		return nil
	case "ptrace-traceme":
		return raw(unix.SYS_PTRACE, unix.PTRACE_TRACEME)
	case "unshare-user":
		return raw(unix.SYS_UNSHARE, unix.CLONE_NEWUSER)
	case "clone-newuser":
		// A raw fork into a new user namespace; the child exits at once.
		r, _, e := unix.RawSyscall6(unix.SYS_CLONE, unix.CLONE_NEWUSER|uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
		if e != 0 {
			return e
		}
		if r == 0 {
			unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
		}
		var ws unix.WaitStatus
		unix.Wait4(int(r), &ws, 0, nil)
		return nil
	case "clone3":
		return raw(unix.SYS_CLONE3, 0, 0)
	case "getpid":
		return raw(unix.SYS_GETPID)
	}
	return fmt.Errorf("unknown syscall case %q", name)
}

// tiocsti pushes a byte into the input of a terminal of our own (a new pty
// made our controlling terminal), with the request's high bits set when
// high is true: the filter must compare the low 32 bits only.
func tiocsti(high bool) error {
	master, slave, err := openPTY()
	if err != nil {
		return err
	}
	defer unix.Close(master)
	defer unix.Close(slave)
	req := uintptr(unix.TIOCSTI)
	if high {
		req |= 1 << 32
	}
	c := byte('x')
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(slave), req, uintptrOf(&c))
	if e != 0 {
		return e
	}
	return nil
}

// ioctlHighTCGETS: a harmless ioctl with high bits set must still work (the
// kernel ignores them; the filter must not over-block).
func ioctlHighTCGETS() error {
	master, slave, err := openPTY()
	if err != nil {
		return err
	}
	defer unix.Close(master)
	defer unix.Close(slave)
	var t unix.Termios
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(slave), uintptr(unix.TCGETS)|1<<32, termiosPtr(&t))
	if e != 0 {
		return e
	}
	return nil
}

func openPTY() (master, slave int, err error) {
	master, err = unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, -1, err
	}
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(master)
		return -1, -1, err
	}
	n, err := unix.IoctlGetInt(master, unix.TIOCGPTN)
	if err != nil {
		unix.Close(master)
		return -1, -1, err
	}
	slave, err = unix.Open("/dev/pts/"+strconv.Itoa(n), unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(master)
		return -1, -1, err
	}
	unix.Setsid()
	unix.IoctlSetInt(slave, unix.TIOCSCTTY, 0)
	return master, slave, nil
}
