package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"sandbox/fs"
	"sandbox/secure"
	"sandbox/spec"
	"sandbox/userns"
)

// Stage names passed as argv[1] to /proc/self/exe. main dispatches on them
// before parsing any flag.
const (
	StageInit = "--stage-init-3f9c"
	StageExec = "--stage-exec-3f9c"
	// StageNoop exits at once (a probe for whether a clone works).
	StageNoop = "--stage-noop-3f9c"
)

// forwardedSignals are passed on to the program.
var forwardedSignals = []syscall.Signal{
	syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH,
}

// ttySignals are the ones a terminal sends to its whole foreground group.
var ttySignals = map[syscall.Signal]bool{
	syscall.SIGINT: true, syscall.SIGQUIT: true, syscall.SIGWINCH: true, syscall.SIGHUP: true,
}

// foregroundOfTTY reports whether this process's group is the foreground
// group of its controlling terminal, i.e. whether a SIGINT most likely came
// from the terminal to the whole group.
func foregroundOfTTY() bool {
	f, err := os.Open("/dev/tty")
	if err != nil {
		return false
	}
	defer f.Close()
	pgrp, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == syscall.Getpgrp()
}

type wirePlan struct{ *Plan }

// encode uses spec's wire form, which keeps paths, arguments and
// environment byte for byte (JSON would replace bytes that are not UTF-8).
func (w *wirePlan) encode() ([]byte, error) { return spec.MarshalWire(w.Plan) }

func decodePlan(b []byte) (*Plan, error) {
	p := &Plan{}
	if err := spec.UnmarshalWire(b, p); err != nil {
		return nil, fmt.Errorf("decode plan: %w", err)
	}
	if p.Spec == nil {
		return nil, errors.New("decode plan: no spec")
	}
	return p, nil
}

// chooseIDs decides the id maps for the user namespace.
func chooseIDs(s *spec.Spec, uid, gid int) (*userns.Plan, error) {
	in := func(v, def int) uint32 {
		if v >= 0 {
			return uint32(v)
		}
		return uint32(def)
	}
	w := userns.Want{
		InsideUID: in(s.UID, uid), InsideGID: in(s.GID, gid),
		OutsideUID: uint32(uid), OutsideGID: uint32(gid),
		User:    strconv.Itoa(uid),
		Single:  s.Personality == spec.Bwrap || s.IDMap == spec.IDMapSingle,
		Require: s.IDMap == spec.IDMapRange,
	}
	if !w.Single {
		// The user's name is needed only to look up subordinate ranges
		// (bubblewrap's single id needs nothing from /etc/passwd).
		name := w.User
		if n := userns.UserName(uint32(uid)); n != "" {
			name = n
		}
		w.User = name
		w.SubUIDs = userns.LookupRanges("/etc/subuid", name, uint32(uid), false)
		w.SubGIDs = userns.LookupRanges("/etc/subgid", name, uint32(uid), true)
		w.HaveHelpers = userns.HaveHelpers()
	}
	plan, err := userns.Choose(w)
	if err != nil {
		var nr *userns.ErrNoRanges
		if errors.As(err, &nr) {
			return nil, &SetupError{Msg: "--id-map range: " + nr.Msg, BwrapMsg: nr.Msg, Hint: nr.Hint, Exit: ExitSetup}
		}
		return nil, err
	}
	return &plan, nil
}

// capsToKeep is the capability set of the program. bubblewrap run by root
// with uid 0 inside keeps root's capabilities unless told otherwise; every
// other case starts from none. --cap-add/--cap-drop then apply in order.
func capsToKeep(s *spec.Spec, uid, last int) secure.CapSet {
	var start secure.CapSet
	inside := s.UID
	if inside < 0 {
		inside = uid
	}
	if s.Personality == spec.Bwrap && uid == 0 && inside == 0 {
		start, _, _ = secure.Current()
	}
	return secure.ResolveCaps(start, s.Caps, last)
}

// consoleTTY names the terminal on stdout, bound at /dev/console by --dev.
func consoleTTY() string {
	if _, err := unix.IoctlGetTermios(1, unix.TCGETS); err != nil {
		return ""
	}
	p, err := os.Readlink("/proc/self/fd/1")
	if err != nil || !strings.HasPrefix(p, "/dev/") {
		return ""
	}
	return p
}

func hasLock(s *spec.Spec) bool { return hasOp(s, spec.OpLockFile) }

func hasOp(s *spec.Spec, k spec.OpKind) bool {
	for _, op := range s.Ops {
		if op.Kind == k {
			return true
		}
	}
	return false
}

func envValue(env []string, name string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// waitFD blocks until fd has data or reaches EOF, then closes it.
func waitFD(fd int) {
	var b [1]byte
	for {
		_, err := unix.Read(fd, b[:])
		if err != unix.EINTR {
			break
		}
	}
	unix.Close(fd)
}

func writeFD(fd int, s string) error {
	b := []byte(s)
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// errnoText is strerror(3)'s wording of the errno inside err, as
// bubblewrap prints it.
func errnoText(err error) string { return fs.ErrText(err) }

func mapHint(err error) string {
	if strings.Contains(err.Error(), "newuidmap") || strings.Contains(err.Error(), "newgidmap") {
		return "check /etc/subuid and /etc/subgid for your user, or run with --id-map single"
	}
	return ""
}

func mapText(ms []userns.Mapping) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%d->%d+%d", m.Inside, m.Outside, m.Count))
	}
	return strings.Join(parts, ",")
}

func whyText(why string) string {
	if why == "" {
		return ""
	}
	return "; single id because " + why
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// InheritedFDs returns the descriptors from 3 up that the caller left open
// without close-on-exec, and marks every descriptor from 3 up close-on-exec
// so that nothing else leaks into a child by accident.
func InheritedFDs() []int {
	fds := NonCloexecFDs()
	unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	return fds
}

// NonCloexecFDs lists this process's descriptors from 3 up that lack
// close-on-exec: those a child it executes inherits.
func NonCloexecFDs() []int {
	var fds []int
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			fds = append(fds, fd)
		}
	}
	return fds
}

// ReadArgsFD reads the NUL-separated arguments of --args FD and closes it.
func ReadArgsFD(fd int) ([]string, error) {
	b, err := readAllFD(fd)
	if err != nil || len(b) == 0 {
		return nil, err
	}
	s := strings.TrimSuffix(string(b), "\x00")
	return strings.Split(s, "\x00"), nil
}

// readAllFD reads fd to EOF and closes it. Errors carry strerror(3)'s
// wording, as bubblewrap prints them.
func readAllFD(fd int) ([]byte, error) {
	f := os.NewFile(uintptr(fd), "fd")
	if f == nil {
		return nil, errors.New(errnoText(syscall.EBADF))
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, errors.New(errnoText(unwrapErrno(err)))
	}
	return b, nil
}

func unwrapErrno(err error) error {
	var en syscall.Errno
	if errors.As(err, &en) {
		return en
	}
	return err
}
