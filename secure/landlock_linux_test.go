package secure

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestLandlockConstants: our copies of the uapi values match x/sys/unix.
func TestLandlockConstants(t *testing.T) {
	for name, c := range map[string][2]uint64{
		"EXECUTE":      {llExecute, unix.LANDLOCK_ACCESS_FS_EXECUTE},
		"WRITE_FILE":   {llWriteFile, unix.LANDLOCK_ACCESS_FS_WRITE_FILE},
		"READ_FILE":    {llReadFile, unix.LANDLOCK_ACCESS_FS_READ_FILE},
		"READ_DIR":     {llReadDir, unix.LANDLOCK_ACCESS_FS_READ_DIR},
		"REMOVE_DIR":   {llRemoveDir, unix.LANDLOCK_ACCESS_FS_REMOVE_DIR},
		"REMOVE_FILE":  {llRemoveFile, unix.LANDLOCK_ACCESS_FS_REMOVE_FILE},
		"MAKE_CHAR":    {llMakeChar, unix.LANDLOCK_ACCESS_FS_MAKE_CHAR},
		"MAKE_DIR":     {llMakeDir, unix.LANDLOCK_ACCESS_FS_MAKE_DIR},
		"MAKE_REG":     {llMakeReg, unix.LANDLOCK_ACCESS_FS_MAKE_REG},
		"MAKE_SOCK":    {llMakeSock, unix.LANDLOCK_ACCESS_FS_MAKE_SOCK},
		"MAKE_FIFO":    {llMakeFifo, unix.LANDLOCK_ACCESS_FS_MAKE_FIFO},
		"MAKE_BLOCK":   {llMakeBlock, unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK},
		"MAKE_SYM":     {llMakeSym, unix.LANDLOCK_ACCESS_FS_MAKE_SYM},
		"REFER":        {llRefer, unix.LANDLOCK_ACCESS_FS_REFER},
		"TRUNCATE":     {llTruncate, unix.LANDLOCK_ACCESS_FS_TRUNCATE},
		"IOCTL_DEV":    {llIoctlDev, unix.LANDLOCK_ACCESS_FS_IOCTL_DEV},
		"SCOPE_UNIX":   {llScopeAbstractUnix, unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET},
		"SCOPE_SIGNAL": {llScopeSignal, unix.LANDLOCK_SCOPE_SIGNAL},
	} {
		if c[0] != c[1] {
			t.Errorf("%s = %#x, x/sys/unix has %#x", name, c[0], c[1])
		}
	}
	for abi, want := range map[int]uintptr{1: 8, 3: 8, 4: 16, 5: 16, 6: 24, 7: 24} {
		if got := rulesetAttrSize(abi); got != want {
			t.Errorf("rulesetAttrSize(%d) = %d, want %d", abi, got, want)
		}
	}
}

// requireLandlock skips when the kernel cannot run ApplyLandlock, naming
// why; under CI=true the skip is a failure (CI kernels have Landlock).
func requireLandlock(t *testing.T) int {
	t.Helper()
	abi, err := landlockVersion()
	var why string
	switch {
	case err != nil:
		why = fmt.Sprintf("Landlock is unavailable: landlock_create_ruleset(VERSION): %v (ENOSYS: not built in; EOPNOTSUPP: not in the lsm= boot list)", err)
	case abi < minLandlockABI:
		why = fmt.Sprintf("the kernel has Landlock ABI %d; ApplyLandlock needs ABI %d (Linux 5.19)", abi, minLandlockABI)
	default:
		return abi
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
	return 0
}

// landlockChildEnv switches the test binary into TestLandlockChild; its
// value is the directory tree to check.
const landlockChildEnv = "SANDBOX_TEST_LANDLOCK_CHILD"

// landlockReport is what the restricted child writes on fd 3.
type landlockReport struct {
	ABI     int               `json:"abi"`
	Err     string            `json:"err,omitempty"`
	Results map[string]string `json:"results"`
}

// TestApplyLandlock re-runs the test binary as a child that restricts
// itself to a temp tree and tries real opens, execs, signals and connects,
// then compares what each attempt got.
func TestApplyLandlock(t *testing.T) {
	kernel := requireLandlock(t)
	for abi := minLandlockABI; abi <= kernel; abi++ {
		t.Run("abi "+strconv.Itoa(abi), func(t *testing.T) { testApplyLandlockAt(t, abi, abi == kernel) })
	}
}

// testApplyLandlockAt runs the child with rulesets for abi; native: through
// ApplyLandlock itself.
func testApplyLandlockAt(t *testing.T, abi int, native bool) {
	dir := t.TempDir()
	for _, d := range []string{"ro/sub", "rw/sub", "outside"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	trueBin := llLookBin(t, "true")
	for name, data := range map[string]string{
		"ro/file":        "read-only\n",
		"ro/script.py":   "import sys\nopen(sys.argv[1], 'w').write('python ok')\n",
		"rw/file":        "writable\n",
		"single":         "one file\n",
		"outside/secret": "secret\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, dst := range []string{"rw/true", "outside/true"} {
		llCopyFile(t, trueBin, filepath.Join(dir, dst))
	}
	// The parent's abstract socket is outside the child's Landlock domain.
	abstract := "@sandbox-landlock-test-" + strconv.Itoa(os.Getpid())
	ln, err := net.Listen("unix", abstract)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Write-only: reopening it for reading must stay refused.
	stderr, err := os.OpenFile(filepath.Join(dir, "outside", "stderr"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLandlockChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), landlockChildEnv+"="+dir, "SANDBOX_TEST_ABSTRACT="+abstract, "SANDBOX_TEST_TRUE="+trueBin)
	if !native {
		cmd.Env = append(cmd.Env, "SANDBOX_TEST_LANDLOCK_ABI="+strconv.Itoa(abi))
	}
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stderr = stderr // a file outside every rule: reopening it uses the stream rule
	out, err := cmd.Output()
	w.Close()
	b, rerr := io.ReadAll(r)
	if err != nil || rerr != nil {
		errOut, _ := os.ReadFile(stderr.Name())
		t.Fatalf("child: %v %v\n%s%s", err, rerr, out, errOut)
	}
	var rep landlockReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("child report %q: %v\n%s", b, err, out)
	}
	if rep.Err != "" {
		t.Fatalf("child: %s", rep.Err)
	}
	if rep.ABI != abi {
		t.Errorf("ApplyLandlock used ABI %d, want %d", rep.ABI, abi)
	}

	want := map[string]string{
		"read ro file":                "ok",
		"list ro dir":                 "ok",
		"write ro file":               "EACCES",
		"create in ro dir":            "EACCES",
		"mkdir in ro dir":             "EACCES",
		"unlink in ro dir":            "EACCES",
		"read single ro file":         "ok",
		"write single ro file":        "EACCES",
		"write rw file (O_TRUNC)":     "ok",
		"create in rw dir":            "ok",
		"mkdir in rw dir":             "ok",
		"rename across rw dirs":       "ok",
		"unlink in rw dir":            "ok",
		"read outside":                "EACCES",
		"list outside":                "EACCES",
		"list host /":                 "EACCES",
		"write /dev/null":             "ok",
		"device ioctl with Dev":       "ENOTTY", // reaches the driver
		"device ioctl without Dev":    "ENOTTY",
		"missing rule path skipped":   "ok",
		"exec /usr true":              "ok",
		"exec true copy in rw dir":    "ok",
		"exec true copy outside":      "EACCES",
		"reopen stderr for write":     "ok",
		"reopen stderr for read":      "EACCES",
		"shell pipeline into rw dir":  "ok",
		"python3 script in ro cwd":    "ok",
		"abstract socket inside":      "ok",
		"signal own child":            "ok",
		"abstract socket of a parent": "ok",
		"signal the parent":           "ok",
	}
	if abi >= 5 {
		want["device ioctl without Dev"] = "EACCES"
	}
	if abi >= 6 {
		want["abstract socket of a parent"] = "EPERM"
		want["signal the parent"] = "EPERM"
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		want["python3 script in ro cwd"] = "absent"
	}
	if !reflect.DeepEqual(rep.Results, want) {
		for k, v := range want {
			if got := rep.Results[k]; got != v {
				t.Errorf("%s: got %q, want %q", k, got, v)
			}
		}
		for k, v := range rep.Results {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected check %s: %q", k, v)
			}
		}
	}
	for name, want := range map[string]string{"rw/pipe": "HI\n", "rw/python": "python ok"} {
		if want == "python ok" && rep.Results["python3 script in ro cwd"] == "absent" {
			continue
		}
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
}

// TestLandlockChild is the restricted side of TestApplyLandlock; it does
// nothing unless the parent started it.
func TestLandlockChild(t *testing.T) {
	dir := os.Getenv(landlockChildEnv)
	if dir == "" {
		return
	}
	// Landlock restricts this thread; the checks must run on it. The thread
	// is never unlocked, so it dies with this goroutine.
	runtime.LockOSThread()
	out := os.NewFile(3, "report")
	rep := landlockReport{Results: map[string]string{}}
	defer func() { json.NewEncoder(out).Encode(rep) }()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		rep.Err = "set no_new_privs: " + err.Error()
		return
	}
	p := func(rel string) string { return filepath.Join(dir, rel) }
	rules := []PathRule{
		{Path: p("ro"), Exec: true},
		{Path: p("rw"), Write: true, Exec: true},
		{Path: p("single")},
		{Path: p("missing")},
		{Path: "/dev/null", Write: true, Dev: true},
		{Path: "/dev/zero"},
		{Path: "/usr", Exec: true},
		{Path: "/bin", Exec: true}, // on merged-/usr hosts: /usr/bin again
		{Path: "/lib", Exec: true},
		{Path: "/lib64", Exec: true},
	}
	var abi int
	var err error
	if v := os.Getenv("SANDBOX_TEST_LANDLOCK_ABI"); v != "" {
		n, _ := strconv.Atoi(v)
		abi, err = applyLandlockAt(rules, n)
	} else {
		abi, err = ApplyLandlock(rules)
	}
	rep.ABI = abi
	if err != nil {
		rep.Err = "ApplyLandlock: " + err.Error()
		return
	}
	res := rep.Results
	res["missing rule path skipped"] = "ok" // ApplyLandlock did not fail on it
	res["read ro file"] = llResult(llTryRead(p("ro/file")))
	res["list ro dir"] = llResult(llListDir(p("ro")))
	res["write ro file"] = llResult(llOpenClose(p("ro/file"), unix.O_WRONLY))
	res["create in ro dir"] = llResult(llOpenClose(p("ro/new"), unix.O_WRONLY|unix.O_CREAT))
	res["mkdir in ro dir"] = llResult(unix.Mkdir(p("ro/newdir"), 0o755))
	res["unlink in ro dir"] = llResult(unix.Unlink(p("ro/file")))
	res["read single ro file"] = llResult(llTryRead(p("single")))
	res["write single ro file"] = llResult(llOpenClose(p("single"), unix.O_WRONLY))
	res["write rw file (O_TRUNC)"] = llResult(llOpenClose(p("rw/file"), unix.O_WRONLY|unix.O_TRUNC))
	res["create in rw dir"] = llResult(llOpenClose(p("rw/new"), unix.O_WRONLY|unix.O_CREAT))
	res["mkdir in rw dir"] = llResult(unix.Mkdir(p("rw/newdir"), 0o755))
	res["rename across rw dirs"] = llResult(unix.Rename(p("rw/new"), p("rw/sub/new")))
	res["unlink in rw dir"] = llResult(unix.Unlink(p("rw/sub/new")))
	res["read outside"] = llResult(llTryRead(p("outside/secret")))
	res["list outside"] = llResult(llListDir(p("outside")))
	res["list host /"] = llResult(llListDir("/"))
	res["write /dev/null"] = llResult(llOpenClose("/dev/null", unix.O_WRONLY))
	res["device ioctl with Dev"] = llResult(llTermiosIoctl("/dev/null"))
	res["device ioctl without Dev"] = llResult(llTermiosIoctl("/dev/zero"))
	trueBin := os.Getenv("SANDBOX_TEST_TRUE")
	res["exec /usr true"] = llResult(llRun(trueBin, "", nil))
	res["exec true copy in rw dir"] = llResult(llRun(p("rw/true"), "", nil))
	res["exec true copy outside"] = llResult(llRun(p("outside/true"), "", nil))
	res["reopen stderr for write"] = llResult(llOpenClose("/proc/self/fd/2", unix.O_WRONLY|unix.O_APPEND))
	res["reopen stderr for read"] = llResult(llOpenClose("/proc/self/fd/2", unix.O_RDONLY))
	res["shell pipeline into rw dir"] = llResult(llRun("/bin/sh", "", []string{"-c", "echo hi | tr a-z A-Z > " + p("rw/pipe") + "; echo x > /dev/null"}))
	res["python3 script in ro cwd"] = "absent"
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		res["python3 script in ro cwd"] = llResult(llRun("/usr/bin/python3", p("ro"), []string{"script.py", p("rw/python")}))
	}
	res["abstract socket inside"] = llResult(llAbstractInside())
	res["abstract socket of a parent"] = llResult(llConnectAbstract(os.Getenv("SANDBOX_TEST_ABSTRACT")))
	res["signal the parent"] = llResult(unix.Kill(os.Getppid(), 0))
	res["signal own child"] = llResult(llSignalChild())
}

// llResult names an errno the way the report compares it.
func llResult(err error) string {
	if err == nil {
		return "ok"
	}
	var en unix.Errno
	if errors.As(err, &en) {
		return unix.ErrnoName(en)
	}
	return err.Error()
}

func llOpenClose(path string, flags int) error {
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0o644)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

func llTryRead(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.Read(fd, make([]byte, 64))
	return err
}

func llListDir(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.Getdents(fd, make([]byte, 4096))
	return err
}

// llTermiosIoctl opens a device and asks it for terminal settings: ENOTTY
// from the driver, or EACCES from Landlock before the driver is asked.
func llTermiosIoctl(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.IoctlGetTermios(fd, unix.TCGETS)
	return err
}

// llRun forks from this (restricted) thread, executes bin and waits: the
// exec's errno, or a failure status.
func llRun(bin, cwd string, args []string) error {
	proc, err := os.StartProcess(bin, append([]string{bin}, args...), &os.ProcAttr{Dir: cwd, Env: []string{"PATH=/usr/bin:/bin"}})
	if err != nil {
		return err
	}
	st, err := proc.Wait()
	if err != nil {
		return err
	}
	if !st.Success() {
		return fmt.Errorf("%s: %v", filepath.Base(bin), st)
	}
	return nil
}

func llConnectAbstract(name string) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Connect(fd, &unix.SockaddrUnix{Name: name})
}

// llAbstractInside listens on an abstract socket inside the domain and
// connects to it.
func llAbstractInside() error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	name := "@sandbox-landlock-inside-" + strconv.Itoa(os.Getpid())
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: name}); err != nil {
		return err
	}
	if err := unix.Listen(fd, 1); err != nil {
		return err
	}
	return llConnectAbstract(name)
}

// llSignalChild starts a child (it inherits the domain) and kills it.
func llSignalChild() error {
	sleep := "/usr/bin/sleep"
	proc, err := os.StartProcess(sleep, []string{sleep, "30"}, &os.ProcAttr{})
	if err != nil {
		return err
	}
	kerr := unix.Kill(proc.Pid, unix.SIGTERM)
	if kerr != nil {
		proc.Kill()
	}
	proc.Wait()
	return kerr
}

func llLookBin(t *testing.T, name string) string {
	t.Helper()
	for _, d := range []string{"/usr/bin", "/bin"} {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("no %s in /usr/bin or /bin", name)
	return ""
}

func llCopyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestCompileLandlock: the raw form says what applyLandlockAt does: the
// ruleset attribute byte for byte, each rule's rights on a directory and on
// anything else, the standard streams' rights by open mode; nothing below
// the minimum ABI.
func TestCompileLandlock(t *testing.T) {
	rules := []PathRule{{Path: "/usr", Exec: true}, {Path: "/tmp", Write: true}, {Path: "/dev", Write: true, Dev: true}}
	for abi := 0; abi <= 7; abi++ {
		l := CompileLandlock(rules, abi)
		if abi < minLandlockABI {
			if l != nil {
				t.Errorf("abi %d: a program, want none", abi)
			}
			continue
		}
		attr := rulesetAttr{handledFS: handledFS(abi), scoped: landlockScopes(abi)}
		want := unsafe.Slice((*byte)(unsafe.Pointer(&attr)), rulesetAttrSize(abi))
		if !bytes.Equal(l.Attr, want) {
			t.Errorf("abi %d: attr % x, want % x", abi, l.Attr, want)
		}
		for i, r := range rules {
			if g := l.Rules[i]; g.Path != r.Path || g.Dir != ruleAccess(r, true, abi) || g.NotDir != ruleAccess(r, false, abi) {
				t.Errorf("abi %d: rule %+v, want the rights of %+v", abi, g, r)
			}
		}
		for _, read := range []bool{false, true} {
			for _, write := range []bool{false, true} {
				for _, dev := range []bool{false, true} {
					i := 0
					if read {
						i |= 4
					}
					if write {
						i |= 2
					}
					if dev {
						i |= 1
					}
					if l.Streams[i] != streamAccess(read, write, dev, abi) {
						t.Errorf("abi %d: stream rights %d = %#x", abi, i, l.Streams[i])
					}
				}
			}
		}
	}
}
