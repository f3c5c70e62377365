package secure

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSeccompConstants checks our constants and the running architecture's
// native table against golang.org/x/sys/unix, which is generated from the
// kernel headers. (The compat tables cannot be checked this way: x/sys
// builds only the running GOARCH's numbers; see seccomp_tables.go.)
func TestSeccompConstants(t *testing.T) {
	consts := []struct {
		name      string
		ours, sys uint64
	}{
		{"AUDIT_ARCH_X86_64", auditArchX86_64, unix.AUDIT_ARCH_X86_64},
		{"AUDIT_ARCH_I386", auditArchI386, unix.AUDIT_ARCH_I386},
		{"AUDIT_ARCH_AARCH64", auditArchAarch64, unix.AUDIT_ARCH_AARCH64},
		{"AUDIT_ARCH_ARM", auditArchARM, unix.AUDIT_ARCH_ARM},
		{"SECCOMP_RET_KILL_PROCESS", retKillProcess, unix.SECCOMP_RET_KILL_PROCESS},
		{"SECCOMP_RET_ERRNO", retErrno, unix.SECCOMP_RET_ERRNO},
		{"SECCOMP_RET_ALLOW", retAllow, unix.SECCOMP_RET_ALLOW},
		{"EPERM", uint64(errEPERM), uint64(unix.EPERM)},
		{"ENOSYS", uint64(errENOSYS), uint64(unix.ENOSYS)},
		{"TIOCSTI", tiocsti, unix.TIOCSTI},
		{"TIOCLINUX", tioclinux, unix.TIOCLINUX},
		{"CLONE_NEWUSER", cloneNewuser, unix.CLONE_NEWUSER},
	}
	for _, c := range consts {
		if c.ours != c.sys {
			t.Errorf("%s: ours %#x, x/sys/unix %#x", c.name, c.ours, c.sys)
		}
	}
	tg, ok := filterTargets[runtime.GOARCH]
	if !ok {
		t.Skipf("no seccomp table for %s", runtime.GOARCH)
	}
	// The calls both amd64 and arm64 have (uselib, iopl, ioperm are amd64
	// only and checked by hand).
	sys := map[string]uintptr{
		"ioctl": unix.SYS_IOCTL, "clone": unix.SYS_CLONE, "clone3": unix.SYS_CLONE3,
		"unshare": unix.SYS_UNSHARE, "personality": unix.SYS_PERSONALITY, "ptrace": unix.SYS_PTRACE,
		"process_vm_readv": unix.SYS_PROCESS_VM_READV, "process_vm_writev": unix.SYS_PROCESS_VM_WRITEV,
		"pidfd_getfd": unix.SYS_PIDFD_GETFD, "perf_event_open": unix.SYS_PERF_EVENT_OPEN,
		"keyctl": unix.SYS_KEYCTL, "add_key": unix.SYS_ADD_KEY, "request_key": unix.SYS_REQUEST_KEY,
		"bpf": unix.SYS_BPF, "mount": unix.SYS_MOUNT, "umount2": unix.SYS_UMOUNT2,
		"pivot_root": unix.SYS_PIVOT_ROOT, "chroot": unix.SYS_CHROOT, "fsopen": unix.SYS_FSOPEN,
		"fsconfig": unix.SYS_FSCONFIG, "fsmount": unix.SYS_FSMOUNT, "fspick": unix.SYS_FSPICK,
		"open_tree": unix.SYS_OPEN_TREE, "open_tree_attr": unix.SYS_OPEN_TREE_ATTR,
		"move_mount": unix.SYS_MOVE_MOUNT, "mount_setattr": unix.SYS_MOUNT_SETATTR,
		"io_uring_setup": unix.SYS_IO_URING_SETUP, "io_uring_enter": unix.SYS_IO_URING_ENTER,
		"io_uring_register": unix.SYS_IO_URING_REGISTER, "userfaultfd": unix.SYS_USERFAULTFD,
		"kexec_load": unix.SYS_KEXEC_LOAD, "kexec_file_load": unix.SYS_KEXEC_FILE_LOAD,
		"init_module": unix.SYS_INIT_MODULE, "finit_module": unix.SYS_FINIT_MODULE,
		"delete_module": unix.SYS_DELETE_MODULE, "reboot": unix.SYS_REBOOT, "swapon": unix.SYS_SWAPON,
		"swapoff": unix.SYS_SWAPOFF, "acct": unix.SYS_ACCT, "quotactl": unix.SYS_QUOTACTL,
		"quotactl_fd": unix.SYS_QUOTACTL_FD, "syslog": unix.SYS_SYSLOG,
		"open_by_handle_at": unix.SYS_OPEN_BY_HANDLE_AT, "nfsservctl": unix.SYS_NFSSERVCTL,
		"lookup_dcookie": unix.SYS_LOOKUP_DCOOKIE,
	}
	for name, nr := range sys {
		got, ok := tg.native.table()[name]
		if !ok || uintptr(got) != nr {
			t.Errorf("%s %s: table has %d (present %v), x/sys/unix %d", tg.native.name, name, got, ok, nr)
		}
	}
}

const seccompChildEnv = "SANDBOX_TEST_SECCOMP_CHILD"

// requireSeccompFilter skips when the kernel cannot load filters; under
// CI=true that is a failure.
func requireSeccompFilter(t *testing.T) {
	t.Helper()
	if _, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0); err == nil {
		return
	}
	const reason = "the kernel has no seccomp (CONFIG_SECCOMP_FILTER): PR_GET_SECCOMP fails"
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI must provide this: %s", reason)
	}
	t.Skip(reason)
}

// TestLoadFilter loads the default filter in a child (the test binary run
// again, as the calling user, no privilege needed) and makes raw system
// calls under it. The child reports each call's errno as JSON on fd 3.
func TestLoadFilter(t *testing.T) {
	if os.Getenv(seccompChildEnv) != "" {
		seccompChild()
		return
	}
	requireSeccompFilter(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadFilter$", "-test.count=1")
	cmd.Env = append(os.Environ(), seccompChildEnv+"=1")
	cmd.ExtraFiles = []*os.File{w}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	data, _ := io.ReadAll(r)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, out.Bytes())
	}
	var got map[string]string
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("child report %q: %v\n%s", data, err, out.Bytes())
	}
	want := map[string]string{
		"load without no_new_privs":       "refused",
		"load":                            "ok",
		"getpid":                          "ok",
		"openat /dev/null":                "ok",
		"personality(query)":              "ok",
		"ioctl(/dev/null, TCGETS)":        "ENOTTY",
		"ioctl(/dev/null, TIOCSTI|1<<32)": "EPERM",
		"ioctl(/dev/null, TIOCLINUX)":     "EPERM",
		"keyctl(GET_KEYRING_ID)":          "EPERM",
		"add_key":                         "EPERM",
		"unshare(CLONE_NEWUSER)":          "EPERM",
		"clone3":                          "ENOSYS",
		"personality(PER_LINUX32)":        "EPERM",
		"ptrace(PEEKDATA, self)":          "EPERM",
		"bpf":                             "EPERM",
		"perf_event_open":                 "EPERM",
		"userfaultfd":                     "EPERM",
		"io_uring_setup":                  "EPERM",
		"mount":                           "EPERM",
		"chroot":                          "EPERM",
		"fsopen":                          "ENOSYS",
		"syslog(SIZE_BUFFER)":             "EPERM",
		"open_by_handle_at":               "EPERM",
		"reboot(bad magic)":               "EPERM",
		"x32 getpid (amd64 only)":         "ENOSYS",
		"name_to_handle_at(NULL) allowed": "EFAULT",
	}
	if runtime.GOARCH != "amd64" {
		delete(want, "x32 getpid (amd64 only)")
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected report %s: %q", k, v)
		}
	}
}

// seccompChild is the child of TestLoadFilter. It locks its thread for good
// (the filter is per thread), loads the default filter and writes what each
// call returned to fd 3. Pointer arguments are 0: the filter answers before
// the kernel would read them, and without it the errors differ.
func seccompChild() {
	runtime.LockOSThread() // never unlocked: the thread carries the filter
	res := map[string]string{}
	report := func() {
		json.NewEncoder(os.NewFile(3, "report")).Encode(res)
	}
	defer report()
	p, err := DefaultPolicy(nil)
	if err != nil {
		res["load"] = err.Error()
		return
	}
	prog, err := p.Compile()
	if err != nil {
		res["load"] = err.Error()
		return
	}
	res["load without no_new_privs"] = "refused"
	if LoadFilter(prog) == nil {
		res["load without no_new_privs"] = "loaded"
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		res["load"] = "no_new_privs: " + err.Error()
		return
	}
	devnull, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		res["load"] = err.Error()
		return
	}
	if err := LoadFilter(prog); err != nil {
		res["load"] = err.Error()
		return
	}
	res["load"] = "ok"
	for _, c := range childCalls(uintptr(devnull)) {
		_, _, e := unix.Syscall6(c.nr, c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], c.args[5])
		res[c.name] = "ok"
		if e != 0 {
			res[c.name] = unix.ErrnoName(e)
		}
	}
	if fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		res["openat /dev/null"] = err.Error()
	} else {
		res["openat /dev/null"] = "ok"
		unix.Close(fd)
	}
}

type childCall struct {
	name string
	nr   uintptr
	args [6]uintptr
}

func childCalls(devnull uintptr) []childCall {
	const (
		keySpecSession = ^uintptr(2) // KEY_SPEC_SESSION_KEYRING, -3
		perLinux32     = 0x8
		syslogSizeBuf  = 10
		ptracePeekData = 2
	)
	high := uint64(1) << 32 // the bits above 32 that must not hide TIOCSTI
	calls := []childCall{
		{"getpid", unix.SYS_GETPID, [6]uintptr{}},
		{"personality(query)", unix.SYS_PERSONALITY, [6]uintptr{0xffffffff}},
		{"ioctl(/dev/null, TCGETS)", unix.SYS_IOCTL, [6]uintptr{devnull, unix.TCGETS}},
		{"ioctl(/dev/null, TIOCSTI|1<<32)", unix.SYS_IOCTL, [6]uintptr{devnull, uintptr(high | unix.TIOCSTI)}},
		{"ioctl(/dev/null, TIOCLINUX)", unix.SYS_IOCTL, [6]uintptr{devnull, unix.TIOCLINUX}},
		{"keyctl(GET_KEYRING_ID)", unix.SYS_KEYCTL, [6]uintptr{unix.KEYCTL_GET_KEYRING_ID, keySpecSession}},
		{"add_key", unix.SYS_ADD_KEY, [6]uintptr{}},
		{"unshare(CLONE_NEWUSER)", unix.SYS_UNSHARE, [6]uintptr{unix.CLONE_NEWUSER}},
		{"clone3", unix.SYS_CLONE3, [6]uintptr{}},
		{"personality(PER_LINUX32)", unix.SYS_PERSONALITY, [6]uintptr{perLinux32}},
		{"ptrace(PEEKDATA, self)", unix.SYS_PTRACE, [6]uintptr{ptracePeekData, uintptr(os.Getpid())}},
		{"bpf", unix.SYS_BPF, [6]uintptr{}},
		{"perf_event_open", unix.SYS_PERF_EVENT_OPEN, [6]uintptr{0, 0, ^uintptr(0), ^uintptr(0)}},
		{"userfaultfd", unix.SYS_USERFAULTFD, [6]uintptr{unix.O_CLOEXEC}},
		{"io_uring_setup", unix.SYS_IO_URING_SETUP, [6]uintptr{}},
		{"mount", unix.SYS_MOUNT, [6]uintptr{}},
		{"chroot", unix.SYS_CHROOT, [6]uintptr{}},
		{"fsopen", unix.SYS_FSOPEN, [6]uintptr{}},
		{"syslog(SIZE_BUFFER)", unix.SYS_SYSLOG, [6]uintptr{syslogSizeBuf}},
		{"open_by_handle_at", unix.SYS_OPEN_BY_HANDLE_AT, [6]uintptr{^uintptr(0)}},
		{"reboot(bad magic)", unix.SYS_REBOOT, [6]uintptr{}},
		{"name_to_handle_at(NULL) allowed", unix.SYS_NAME_TO_HANDLE_AT, [6]uintptr{^uintptr(0)}},
	}
	if runtime.GOARCH == "amd64" {
		calls = append(calls, childCall{"x32 getpid (amd64 only)", x32SyscallBit | unix.SYS_GETPID, [6]uintptr{}})
	}
	return calls
}
