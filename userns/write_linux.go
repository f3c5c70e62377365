package userns

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Write applies the plan to the user namespace of pid, which must have been
// created by this process's user and must not have maps yet.
//
// Precondition: the process pid is dumpable (it has not dropped privileges),
// so that /proc/PID files belong to the caller.
func Write(pid int, p Plan) error {
	if p.Kind == KindRange {
		// The two helpers touch different files of the child: run them at
		// once, which saves one setuid exec's time from every start. Both
		// are started before either is waited for: with one P a goroutine
		// for the second would wait for the runtime to take the P back
		// from the first one's fork (milliseconds).
		u, uerr := startHelper("newuidmap", pid, p.UIDs)
		g, gerr := startHelper("newgidmap", pid, p.GIDs)
		if uerr == nil {
			uerr = u.wait()
		}
		if gerr == nil {
			gerr = g.wait()
		}
		if uerr != nil {
			return uerr
		}
		return gerr
	}
	dir := "/proc/" + strconv.Itoa(pid)
	if err := writeProc(dir+"/uid_map", Format(p.UIDs)); err != nil {
		return fmt.Errorf("write uid_map: %w", err)
	}
	// An unprivileged process may map its gid only after denying setgroups
	// (user_namespaces(7), since Linux 3.19). Root keeps setgroups.
	if os.Geteuid() != 0 {
		if err := writeProc(dir+"/setgroups", "deny"); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("write setgroups: %w", err)
		}
	}
	if err := writeProc(dir+"/gid_map", Format(p.GIDs)); err != nil {
		return fmt.Errorf("write gid_map: %w", err)
	}
	return nil
}

// helper is a running newuidmap or newgidmap.
type helper struct {
	name string
	cmd  *exec.Cmd
	// out takes the helper's output: a memfd, or buf where there is none.
	out *os.File
	buf bytes.Buffer
}

func startHelper(name string, pid int, maps []Mapping) (*helper, error) {
	path, ok := helperPath(name)
	if !ok {
		path = "/usr/bin/" + name // for the error message
	}
	h := &helper{name: name, cmd: exec.Command(path, append([]string{strconv.Itoa(pid)}, Args(maps)...)...)}
	// The output goes to a file, not a buffer: os/exec copies into a
	// buffer from a goroutine of its own, whose stack growth walks and
	// faults in the binary's pclntab (450 KB of the parent's peak RSS,
	// measured). A memfd never fills up, so the helper never blocks on it.
	if fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC); err == nil {
		h.out = os.NewFile(uintptr(fd), name)
		h.cmd.Stdout, h.cmd.Stderr = h.out, h.out
	} else {
		h.cmd.Stdout, h.cmd.Stderr = &h.buf, &h.buf
	}
	h.cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	if err := h.cmd.Start(); err != nil {
		h.closeOut()
		return nil, fmt.Errorf("%s: %s", name, err)
	}
	return h, nil
}

func (h *helper) wait() error {
	err := h.cmd.Wait()
	if err != nil {
		msg := strings.TrimSpace(h.output())
		if msg == "" {
			msg = err.Error()
		}
		err = fmt.Errorf("%s: %s", h.name, msg)
	}
	h.closeOut()
	return err
}

// output is what the helper wrote (its first 4 KB).
func (h *helper) output() string {
	if h.out == nil {
		return h.buf.String()
	}
	b := make([]byte, 4096)
	n, _ := unix.Pread(int(h.out.Fd()), b, 0)
	return string(b[:max(n, 0)])
}

func (h *helper) closeOut() {
	if h.out != nil {
		h.out.Close()
	}
}

// HaveHelpers reports whether newuidmap and newgidmap are installed.
func HaveHelpers() bool {
	_, uid := helperPath("newuidmap")
	_, gid := helperPath("newgidmap")
	return uid && gid
}

// helperPaths remembers where newuidmap and newgidmap were found: a start
// asks twice for each (HaveHelpers, startHelper), and a PATH search costs a
// stat per directory (half a millisecond on a slow VM).
var helperPaths = struct {
	sync.Mutex
	m map[string]string // "" = not found
}{m: map[string]string{}}

// helperPath finds a helper on PATH, else in /usr/bin (PATH may lack it).
func helperPath(name string) (string, bool) {
	helperPaths.Lock()
	defer helperPaths.Unlock()
	p, seen := helperPaths.m[name]
	if !seen {
		var err error
		if p, err = exec.LookPath(name); err != nil {
			p = ""
			if _, err := os.Stat("/usr/bin/" + name); err == nil {
				p = "/usr/bin/" + name
			}
		}
		helperPaths.m[name] = p
	}
	return p, p != ""
}

// LookupRanges returns the subordinate ranges of the user from file (such as
// /etc/subuid), or from getsubids(1) when the file has none for them and the
// tool is installed (subordinate ids served by NSS, e.g. from LDAP).
func LookupRanges(file, user string, id uint32, gids bool) []Range {
	if f, err := os.Open(file); err == nil {
		rs, _ := ParseSubIDs(f, user, id)
		f.Close()
		if len(rs) > 0 {
			return rs
		}
	}
	tool, err := exec.LookPath("getsubids")
	if err != nil || user == "" {
		return nil
	}
	args := []string{user}
	if gids {
		args = []string{"-g", user}
	}
	out, err := exec.Command(tool, args...).Output()
	if err != nil {
		return nil
	}
	return ParseGetsubids(string(out))
}

// UserName is the name /etc/passwd gives uid, or "" (no NSS lookup: the
// binary is static, as os/user's pure-Go lookup is).
func UserName(uid uint32) string {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return ""
	}
	defer f.Close()
	return ParsePasswdName(f, uid)
}
