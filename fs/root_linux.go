package fs

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"sandbox/spec"
)

// Root is the Linux Builder: a tmpfs new root under a private staging tmpfs,
// with every host source opened before anything is mounted.
//
// Layout while building (inside the sandbox's own mount namespace):
//
//	/tmp              staging tmpfs, unbindable (hides the host's /tmp from
//	                  us only, and is pruned from recursive binds of / or
//	                  /tmp, which thus show the host's /tmp)
//	/tmp/root         the new root, its own tmpfs, 0755
//	/tmp/data         a tmpfs for --bind-data files (bindable, unlike its
//	                  parent) and --tmp-overlay upper layers
//
// Destinations are resolved with openat2(RESOLVE_IN_ROOT) relative to the new
// root, so a symlink created inside it (even an absolute one) is followed as
// it will be seen from inside, never into the host.
type Root struct {
	ops []spec.Op
	// sources holds an O_PATH fd per op with a host source (binds, overlay
	// layers), opened before the staging tmpfs hides anything.
	sources map[int][]*os.File
	root    int // O_PATH fd of the new root directory
	n       int // counter for staging files
	// PIDNS: a new pid namespace exists, so --proc mounts a fresh procfs.
	PIDNS bool
	// BwrapParents creates missing parents 0700 for ops without --perms, as
	// bubblewrap does; otherwise parents are 0755.
	BwrapParents bool
	// Console is the terminal to bind at /dev/console, or "".
	Console string
	locks   []*os.File
	newAPI  bool
}

const (
	stageDir = "/tmp"
	rootDir  = "/tmp/root"
	dataDir  = "/tmp/data"
)

// Open prepares a Root for ops: it opens every host source (a missing one is
// recorded, and reported by Apply unless the op is a -try form) and mounts
// the staging and root tmpfs.
//
// Preconditions: called in a new mount namespace with CAP_SYS_ADMIN in its
// owning user namespace, before any other mount.
func Open(ops []spec.Op) (*Root, error) {
	r := &Root{ops: ops, sources: map[int][]*os.File{}, root: -1, newAPI: true}
	for i, op := range ops {
		var paths []string
		switch op.Kind {
		case spec.OpBind, spec.OpROBind, spec.OpDevBind:
			paths = []string{op.Source}
		case spec.OpOverlay:
			paths = append([]string{op.Source, op.Work}, op.Lower...)
		case spec.OpTmpOverlay, spec.OpROOverlay:
			paths = op.Lower
		case spec.OpBindFD, spec.OpROBindFD:
			f, err := reopenFD(op)
			if err != nil {
				r.Close()
				return nil, err
			}
			r.sources[i] = []*os.File{f}
		}
		for _, p := range paths {
			f, err := os.OpenFile(p, unix.O_PATH|unix.O_CLOEXEC, 0)
			if err != nil {
				isBind := op.Kind == spec.OpBind || op.Kind == spec.OpROBind || op.Kind == spec.OpDevBind
				// A missing source is reported by Apply unless the op is a
				// -try form; a default op is skipped on any error (the
				// sandbox personality's cwd may be unreadable, say).
				if isBind && (errors.Is(err, os.ErrNotExist) || op.Default) {
					r.sources[i] = nil
					break
				}
				r.Close()
				return nil, &OpError{Op: op, Path: p, What: "source", Err: unwrapPath(err)}
			}
			r.sources[i] = append(r.sources[i], f)
		}
	}
	// WARNING: / must stop propagating to the host before the first mount,
	// or our mounts would appear outside (mount_namespaces(7)).
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		r.Close()
		return nil, fmt.Errorf("make / a slave mount: %w", err)
	}
	// No mode= option: bind-data files and the root show this tmpfs's
	// options in mountinfo, and bubblewrap's carry none. It is reachable
	// only from this mount namespace, and only until pivot_root.
	if err := unix.Mount("tmpfs", stageDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		r.Close()
		return nil, fmt.Errorf("mount staging tmpfs on %s: %w", stageDir, err)
	}
	// WARNING: before anything is bound: a recursive clone of / taken later
	// must not carry the staging area (or the new root) along.
	if err := unix.Mount("", stageDir, "", unix.MS_UNBINDABLE, ""); err != nil {
		r.Close()
		return nil, fmt.Errorf("make staging tmpfs unbindable: %w", err)
	}
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		r.Close()
		return nil, fmt.Errorf("create staging data dir: %w", err)
	}
	if err := unix.Mount("tmpfs", dataDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		r.Close()
		return nil, fmt.Errorf("mount staging data tmpfs: %w", err)
	}
	if err := os.Mkdir(rootDir, 0o755); err != nil {
		r.Close()
		return nil, fmt.Errorf("create new root: %w", err)
	}
	if err := unix.Mount("tmpfs", rootDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		r.Close()
		return nil, fmt.Errorf("mount new root: %w", err)
	}
	if err := os.Chmod(rootDir, 0o755); err != nil {
		r.Close()
		return nil, fmt.Errorf("chmod new root: %w", err)
	}
	fd, err := unix.Open(rootDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("open new root: %w", err)
	}
	r.root = fd
	return r, nil
}

// reopenFD turns the caller's --bind-fd descriptor into one in our mount
// namespace. The caller opened it in the host's namespace, whose mounts
// open_tree cannot clone from ours (EINVAL): its path is opened again here,
// and the two must be the same inode (as bubblewrap checks), or something
// raced us.
func reopenFD(op spec.Op) (*os.File, error) {
	link := "/proc/self/fd/" + strconv.Itoa(op.FD)
	path, err := os.Readlink(link)
	if err != nil {
		return nil, &OpError{Op: op, Path: link, What: "source", Err: unix.ENOENT}
	}
	var want unix.Stat_t
	if err := unix.Fstat(op.FD, &want); err != nil {
		return nil, &OpError{Op: op, Path: link, What: "source", Err: err}
	}
	f, err := os.OpenFile(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &OpError{Op: op, Path: path, What: "source", Err: unwrapPath(err)}
	}
	var got unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &got); err != nil || got.Dev != want.Dev || got.Ino != want.Ino {
		f.Close()
		return nil, &OpError{Op: op, Path: path, What: "bind", Err: errors.New("the fd's path now names another file"),
			Bwrap: "Race condition binding dirfd"}
	}
	unix.Close(op.FD)
	return f, nil
}

// Close releases the source fds (the mounts go with the mount namespace).
func (r *Root) Close() {
	for _, fs := range r.sources {
		for _, f := range fs {
			f.Close()
		}
	}
	r.sources = nil
	if r.root >= 0 {
		unix.Close(r.root)
		r.root = -1
	}
}

// SourceMissing implements Builder.
func (r *Root) SourceMissing(i int) bool {
	fs, ok := r.sources[i]
	return ok && len(fs) == 0
}

// PivotRoot makes the new root the process's root and detaches the host's.
//
// pivot_root(".", ".") stacks the old root on top of the new one; unmounting
// "." then detaches it (pivot_root(2), NOTES), with no directory for the old
// root left in the sandbox.
func (r *Root) PivotRoot() error {
	r.Close()
	if err := unix.Chdir(rootDir); err != nil {
		return fmt.Errorf("chdir to new root: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	// The old root is a slave of the host: make it private before detaching
	// it, so the unmount cannot propagate anywhere.
	if err := unix.Mount("", ".", "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make old root private: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir to /: %w", err)
	}
	return nil
}

// Locks returns the files held open for --lock-file; keep them until exit.
func (r *Root) Locks() []*os.File { return r.locks }

// resolve opens a sandbox path (O_PATH) as it resolves inside the new root.
func (r *Root) resolve(p string, flags int) (int, error) {
	how := &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(r.root, rel(p), how)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		return fd, err
	}
}

// procPath names an open fd for calls that take only paths (mount(2)).
func procPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

func rel(p string) string {
	for len(p) > 0 && p[0] == '/' {
		p = p[1:]
	}
	if p == "" {
		return "."
	}
	return p
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
