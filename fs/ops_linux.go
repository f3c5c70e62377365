package fs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"sandbox/spec"
)

// parentMode is the mode of missing parent directories for op.
func (r *Root) parentMode(op spec.Op) uint32 { return ParentMode(op, r.BwrapParents) }

// mkdirAll creates the missing directories of p inside the new root.
func (r *Root) mkdirAll(p string, mode uint32) error {
	p = path.Clean("/" + p)
	if p == "/" {
		return nil
	}
	fd, err := r.resolve(p, unix.O_PATH|unix.O_DIRECTORY)
	if err == nil {
		unix.Close(fd)
		return nil
	}
	if err != unix.ENOENT {
		return err
	}
	if err := r.mkdirAll(path.Dir(p), mode); err != nil {
		return err
	}
	return r.mkdirAt(p, mode)
}

func (r *Root) mkdirAt(p string, mode uint32) error {
	dir, err := r.resolve(path.Dir(p), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	if err := unix.Mkdirat(dir, path.Base(p), mode); err != nil && err != unix.EEXIST {
		return err
	}
	return nil
}

func (r *Root) mkParents(op spec.Op, p string) error {
	if err := r.mkdirAll(path.Dir(path.Clean("/"+p)), r.parentMode(op)); err != nil {
		return &OpError{Op: op, Path: p, What: "mkdir parents for", Err: err}
	}
	return nil
}

// ensureDir makes p an existing directory (a mount point for a directory).
func (r *Root) ensureDir(op spec.Op, p string, mode uint32) error {
	if err := r.mkParents(op, p); err != nil {
		return err
	}
	fd, err := r.resolve(p, unix.O_PATH)
	if err == nil {
		defer unix.Close(fd)
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return &OpError{Op: op, Path: p, What: "mkdir", Err: err}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return &OpError{Op: op, Path: p, What: "mkdir", Err: unix.ENOTDIR}
		}
		return nil
	}
	if err := r.mkdirAt(path.Clean("/"+p), mode); err != nil {
		return &OpError{Op: op, Path: p, What: "mkdir", Err: err}
	}
	return nil
}

// ensureFile makes p an existing non-directory (a mount point for a file).
func (r *Root) ensureFile(op spec.Op, p string) error {
	if err := r.mkParents(op, p); err != nil {
		return err
	}
	fd, err := r.resolve(p, unix.O_PATH)
	if err == nil {
		defer unix.Close(fd)
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return &OpError{Op: op, Path: p, What: "create file at", Err: unix.EISDIR}
		}
		return nil
	}
	dir, err := r.resolve(path.Dir(path.Clean("/"+p)), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return &OpError{Op: op, Path: p, What: "create file at", Err: err}
	}
	defer unix.Close(dir)
	f, err := unix.Openat(dir, path.Base(p), unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o444)
	if err != nil && err != unix.EEXIST {
		return &OpError{Op: op, Path: p, What: "create file at", Err: err}
	}
	if err == nil {
		unix.Close(f)
	}
	return nil
}

// Bind implements Builder: a recursive bind, nosuid always, nodev unless
// --dev-bind, read-only for the --ro forms, on the source and every submount.
func (r *Root) Bind(i int, op spec.Op) error {
	src := int(r.sources[i][0].Fd())
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return &OpError{Op: op, Path: op.Source, What: "get type of source", Err: err}
	}
	var err error
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		err = r.ensureDir(op, op.Dest, 0o755)
	} else {
		err = r.ensureFile(op, op.Dest)
	}
	if err != nil {
		return err
	}
	attr := uint64(unix.MOUNT_ATTR_NOSUID)
	if op.Kind != spec.OpDevBind {
		attr |= unix.MOUNT_ATTR_NODEV
	}
	if op.Kind == spec.OpROBind || op.Kind == spec.OpROBindFD {
		attr |= unix.MOUNT_ATTR_RDONLY
	}
	if err := r.bindFD(src, op.Dest, attr); err != nil {
		return &OpError{Op: op, Path: op.Dest, What: "bind mount " + srcName(op) + " on", Err: err}
	}
	return nil
}

func srcName(op spec.Op) string {
	if op.Source != "" {
		return op.Source
	}
	return fmt.Sprintf("fd %d", op.FD)
}

// bindFD mounts a recursive clone of the tree at src on dest with attr set
// on every mount of it.
//
// The new mount API does it atomically: open_tree(OPEN_TREE_CLONE |
// AT_RECURSIVE), mount_setattr(AT_RECURSIVE), move_mount. When a seccomp
// filter of the host refuses those calls (ENOSYS, EPERM), the classic bind and
// per-mount remount is used instead.
func (r *Root) bindFD(src int, dest string, attr uint64) error {
	dfd, err := r.resolve(dest, unix.O_PATH)
	if err != nil {
		return fmt.Errorf("open destination: %w", err)
	}
	defer unix.Close(dfd)
	if r.newAPI {
		tree, err := unix.OpenTree(src, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH|unix.AT_RECURSIVE)
		if err == nil {
			defer unix.Close(tree)
			ma := &unix.MountAttr{Attr_set: attr}
			if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, ma); err != nil {
				return fmt.Errorf("set mount attributes: %w", err)
			}
			if err := unix.MoveMount(tree, "", dfd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
				return fmt.Errorf("move mount: %w", err)
			}
			return r.mounted(dest)
		}
		if err != unix.ENOSYS && err != unix.EPERM {
			return fmt.Errorf("open_tree: %w", err)
		}
		r.newAPI = false
	}
	if err := legacyBind(procPath(src), procPath(dfd), attr); err != nil {
		return err
	}
	return r.mounted(dest)
}

// mounted notes a mount on dest. A mount on the root itself hides the
// directory r.root names (an fd stays on the mount it was opened on), so the
// root is opened again to reach the new top mount.
func (r *Root) mounted(dest string) error {
	if path.Clean("/"+dest) != "/" {
		return nil
	}
	fd, err := unix.Open(rootDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("reopen new root: %w", err)
	}
	unix.Close(r.root)
	r.root = fd
	return nil
}

// legacyBind is the mount(2) fallback of bindFD. Remounting a mount that came
// from the host must repeat the flags the host set (nosuid, noexec, atime...),
// or the kernel refuses with EPERM: they are locked in a user namespace.
func legacyBind(src, dest string, attr uint64) error {
	if err := unix.Mount(src, dest, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	target, err := os.Readlink(dest)
	if err != nil {
		target = dest
	}
	mounts, err := mountsUnder(target)
	if err != nil {
		return err
	}
	var extra uintptr
	if attr&unix.MOUNT_ATTR_NOSUID != 0 {
		extra |= unix.MS_NOSUID
	}
	if attr&unix.MOUNT_ATTR_NODEV != 0 {
		extra |= unix.MS_NODEV
	}
	if attr&unix.MOUNT_ATTR_RDONLY != 0 {
		extra |= unix.MS_RDONLY
	}
	for i, m := range mounts {
		var sfs unix.Statfs_t
		if err := unix.Statfs(m, &sfs); err != nil {
			continue
		}
		flags := uintptr(sfs.Flags)&(unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_RDONLY|unix.MS_NOATIME|unix.MS_NODIRATIME|unix.MS_RELATIME) | extra
		if err := unix.Mount("", m, "", unix.MS_REMOUNT|unix.MS_BIND|flags, ""); err != nil {
			if i > 0 && err == unix.EACCES {
				continue // a submount we may not change, as bubblewrap ignores
			}
			return fmt.Errorf("remount %s: %w", m, err)
		}
	}
	return nil
}

// mountsUnder lists the mount points at or below dir, outermost first.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	infos, err := ParseMountinfo(f)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range infos {
		if m.MountPoint == dir || strings.HasPrefix(m.MountPoint, strings.TrimSuffix(dir, "/")+"/") {
			out = append(out, m.MountPoint)
		}
	}
	return out, nil
}

// RemountRO implements Builder: DEST's own mount becomes read-only (not its
// submounts, as bubblewrap documents).
func (r *Root) RemountRO(op spec.Op) error {
	if err := r.mkParents(op, op.Dest); err != nil {
		return err
	}
	fd, err := r.resolve(op.Dest, unix.O_PATH)
	if err != nil {
		return &OpError{Op: op, Path: op.Dest, What: "remount readonly on", Err: err,
			Bwrap: fmt.Sprintf("Can't remount readonly on %s: realpath(destination): %s", newroot(op.Dest), ErrText(err))}
	}
	defer unix.Close(fd)
	var stx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, 0, &stx); err == nil &&
		stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT == 0 {
		return &OpError{Op: op, Path: op.Dest, What: "remount readonly on", Err: errors.New("not a mount point"),
			Bwrap: fmt.Sprintf("Can't remount readonly on %s: Unable to find \"%s\" in mount table", newroot(op.Dest), newroot(op.Dest))}
	}
	ma := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	err = unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, ma)
	if err == unix.ENOSYS || err == unix.EPERM {
		err = legacyRemount(procPath(fd))
	}
	if err != nil {
		return &OpError{Op: op, Path: op.Dest, What: "remount readonly on", Err: err}
	}
	return nil
}

func legacyRemount(p string) error {
	var sfs unix.Statfs_t
	if err := unix.Statfs(p, &sfs); err != nil {
		return err
	}
	flags := uintptr(sfs.Flags)&(unix.MS_NOEXEC|unix.MS_NOATIME|unix.MS_NODIRATIME|unix.MS_RELATIME) | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV
	return unix.Mount("", p, "", unix.MS_REMOUNT|unix.MS_BIND|flags, "")
}

// mountAt mounts a new filesystem on the sandbox path dest.
func (r *Root) mountAt(op spec.Op, dest, fstype string, flags uintptr, data string) error {
	fd, err := r.resolve(dest, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return &OpError{Op: op, Path: dest, What: "mount " + fstype + " on", Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Mount(fstype, procPath(fd), fstype, flags, data); err != nil {
		return &OpError{Op: op, Path: dest, What: "mount " + fstype + " on", Err: err}
	}
	if err := r.mounted(dest); err != nil {
		return &OpError{Op: op, Path: dest, What: "mount " + fstype + " on", Err: err}
	}
	return nil
}

// Tmpfs implements Builder.
func (r *Root) Tmpfs(op spec.Op) error {
	if err := r.ensureDir(op, op.Dest, 0o755); err != nil {
		return err
	}
	mode := op.Perms
	if mode < 0 {
		mode = 0o755
	}
	data := fmt.Sprintf("mode=%#o", mode)
	if op.Size > 0 {
		data += fmt.Sprintf(",size=%d", op.Size)
	}
	return r.mountAt(op, op.Dest, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, data)
}

// Mqueue implements Builder.
func (r *Root) Mqueue(op spec.Op) error {
	if err := r.ensureDir(op, op.Dest, 0o755); err != nil {
		return err
	}
	return r.mountAt(op, op.Dest, "mqueue", 0, "")
}

// Proc implements Builder: a new procfs with a new pid namespace, else the
// host's /proc bound. Kernel knobs that are not namespaced are then made
// read-only, as bubblewrap does.
func (r *Root) Proc(op spec.Op) error {
	if err := r.ensureDir(op, op.Dest, 0o755); err != nil {
		return err
	}
	if r.PIDNS {
		if err := r.mountAt(op, op.Dest, "proc", unix.MS_NOSUID|unix.MS_NOEXEC|unix.MS_NODEV, ""); err != nil {
			return err
		}
	} else {
		src, err := os.OpenFile("/proc", unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return &OpError{Op: op, Path: "/proc", What: "open", Err: err}
		}
		err = r.bindFD(int(src.Fd()), op.Dest, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
		src.Close()
		if err != nil {
			return &OpError{Op: op, Path: op.Dest, What: "mount proc on", Err: err}
		}
	}
	for _, sub := range []string{"sys", "sysrq-trigger", "irq", "bus"} {
		p := path.Join(op.Dest, sub)
		fd, err := r.resolve(p, unix.O_PATH)
		if err != nil {
			continue
		}
		// Only what is writable needs covering, as bubblewrap does.
		if werr := unix.Access(procPath(fd), unix.W_OK); werr == unix.EACCES || werr == unix.EROFS {
			unix.Close(fd)
			continue
		}
		err = r.bindFD(fd, p, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
		unix.Close(fd)
		if err != nil && !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EROFS) {
			return &OpError{Op: op, Path: p, What: "remount readonly", Err: err}
		}
	}
	return nil
}

// Dev implements Builder: a tmpfs with the harmless device nodes bound from
// the host, the standard symlinks, a private devpts and /dev/shm.
func (r *Root) Dev(op spec.Op) error {
	if err := r.ensureDir(op, op.Dest, 0o755); err != nil {
		return err
	}
	if err := r.mountAt(op, op.Dest, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return err
	}
	for _, n := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		if err := r.bindDevice(op, "/dev/"+n, path.Join(op.Dest, n)); err != nil {
			return err
		}
	}
	links := [][2]string{
		{"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
		{"/proc/self/fd", "fd"}, {"/proc/kcore", "core"}, {"pts/ptmx", "ptmx"},
	}
	for _, l := range links {
		if err := r.symlinkAt(l[0], path.Join(op.Dest, l[1])); err != nil {
			return &OpError{Op: op, Path: path.Join(op.Dest, l[1]), What: "create symlink", Err: err}
		}
	}
	for _, d := range []string{"shm", "pts"} {
		if err := r.mkdirAt(path.Join(op.Dest, d), 0o755); err != nil {
			return &OpError{Op: op, Path: path.Join(op.Dest, d), What: "create", Err: err}
		}
	}
	if err := r.mountAt(op, path.Join(op.Dest, "pts"), "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620"); err != nil {
		return err
	}
	if r.Console != "" {
		if err := r.bindDevice(op, r.Console, path.Join(op.Dest, "console")); err != nil {
			return err
		}
	}
	return nil
}

func (r *Root) bindDevice(op spec.Op, host, dest string) error {
	src, err := os.OpenFile(host, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return &OpError{Op: op, Path: host, What: "open", Err: unwrapPath(err)}
	}
	defer src.Close()
	if err := r.ensureFile(op, dest); err != nil {
		return err
	}
	if err := r.bindFD(int(src.Fd()), dest, unix.MOUNT_ATTR_NOSUID); err != nil {
		return &OpError{Op: op, Path: dest, What: "bind mount " + host + " on", Err: err}
	}
	return nil
}

// Dir implements Builder. An existing directory is left as it is.
func (r *Root) Dir(op spec.Op) error {
	mode := uint32(0o755)
	if op.Perms >= 0 {
		mode = uint32(op.Perms)
	}
	return r.ensureDir(op, op.Dest, mode)
}

// File implements Builder: DEST gets the contents of the fd.
func (r *Root) File(op spec.Op) error {
	if err := r.mkParents(op, op.Dest); err != nil {
		return err
	}
	mode := uint32(0o666)
	if op.Perms >= 0 {
		mode = uint32(op.Perms)
	}
	dir, err := r.resolve(path.Dir(path.Clean("/"+op.Dest)), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return &OpError{Op: op, Path: op.Dest, What: "create file", Err: err}
	}
	defer unix.Close(dir)
	fd, err := unix.Openat(dir, path.Base(op.Dest), unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return &OpError{Op: op, Path: op.Dest, What: "create file", Err: err}
	}
	return copyFromFD(op, fd)
}

// copyFromFD copies the op's fd to the open file dst and closes both.
func copyFromFD(op spec.Op, dst int) error {
	out := os.NewFile(uintptr(dst), "dest")
	defer out.Close()
	in := os.NewFile(uintptr(op.FD), "data")
	if in == nil {
		return &OpError{Op: op, Path: op.Dest, What: "write data to file", Err: unix.EBADF}
	}
	defer in.Close()
	if _, err := io.Copy(out, in); err != nil {
		return &OpError{Op: op, Path: op.Dest, What: "write data to file", Err: unwrapPath(err)}
	}
	return nil
}

// BindData implements Builder: the fd's contents go to a file on the hidden
// staging tmpfs, which is bound on DEST.
func (r *Root) BindData(op spec.Op) error {
	mode := uint32(0o600)
	if op.Perms >= 0 {
		mode = uint32(op.Perms)
	}
	r.n++
	tmp := fmt.Sprintf("%s/data-%d", dataDir, r.n)
	fd, err := unix.Open(tmp, unix.O_CREAT|unix.O_EXCL|unix.O_RDWR|unix.O_CLOEXEC, mode)
	if err != nil {
		return &OpError{Op: op, Path: op.Dest, What: "create tmpfile for", Err: err}
	}
	if err := unix.Fchmod(fd, mode); err != nil {
		unix.Close(fd)
		return &OpError{Op: op, Path: op.Dest, What: "set mode on file for", Err: err}
	}
	if op.FD == spec.NoFD {
		_, err = unix.Write(fd, op.Data)
		unix.Close(fd)
		if err != nil {
			return &OpError{Op: op, Path: op.Dest, What: "write data to file", Err: err}
		}
	} else if err := copyFromFD(op, fd); err != nil {
		return err
	}
	if err := r.ensureFile(op, op.Dest); err != nil {
		return err
	}
	src, err := unix.Open(tmp, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return &OpError{Op: op, Path: op.Dest, What: "open tmpfile for", Err: err}
	}
	defer unix.Close(src)
	attr := uint64(unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV)
	if op.Kind == spec.OpROBindData {
		attr |= unix.MOUNT_ATTR_RDONLY
	}
	if err := r.bindFD(src, op.Dest, attr); err != nil {
		return &OpError{Op: op, Path: op.Dest, What: "bind mount data on", Err: err}
	}
	unix.Unlink(tmp)
	return nil
}

// Symlink implements Builder. An existing identical symlink is accepted.
func (r *Root) Symlink(op spec.Op) error {
	if err := r.mkParents(op, op.Dest); err != nil {
		return err
	}
	err := r.symlinkAt(op.Source, op.Dest)
	if err == unix.EEXIST {
		dir, derr := r.resolve(path.Dir(path.Clean("/"+op.Dest)), unix.O_PATH|unix.O_DIRECTORY)
		if derr != nil {
			return &OpError{Op: op, Path: op.Dest, What: "make symlink at", Err: derr}
		}
		defer unix.Close(dir)
		buf := make([]byte, 4096)
		n, rerr := unix.Readlinkat(dir, path.Base(op.Dest), buf)
		switch {
		case rerr == unix.EINVAL:
			return &OpError{Op: op, Path: op.Dest, What: "make symlink at", Err: errors.New("destination exists and is not a symlink")}
		case rerr != nil:
			return &OpError{Op: op, Path: op.Dest, What: "make symlink at", Err: fmt.Errorf("destination exists, and cannot read symlink target: %w", rerr)}
		case string(buf[:n]) != op.Source:
			return &OpError{Op: op, Path: op.Dest, What: "make symlink at", Err: fmt.Errorf("existing destination is %s", buf[:n])}
		}
		return nil
	}
	if err != nil {
		return &OpError{Op: op, Path: op.Dest, What: "make symlink at", Err: err}
	}
	return nil
}

func (r *Root) symlinkAt(target, p string) error {
	dir, err := r.resolve(path.Dir(path.Clean("/"+p)), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	return unix.Symlinkat(target, dir, path.Base(p))
}

// Chmod implements Builder; it follows symlinks inside the root.
func (r *Root) Chmod(op spec.Op) error {
	fd, err := r.resolve(op.Dest, unix.O_PATH)
	if err != nil {
		return &OpError{Op: op, Path: op.Dest, What: "chmod", Err: err}
	}
	defer unix.Close(fd)
	// fchmod does not work on O_PATH fds; the /proc/self/fd link does.
	if err := unix.Chmod(procPath(fd), uint32(op.Perms)); err != nil {
		return &OpError{Op: op, Path: op.Dest, What: "chmod", Err: err}
	}
	return nil
}

// Overlay implements Builder for --overlay, --tmp-overlay and --ro-overlay.
// Layers are passed as /proc/self/fd paths of the fds opened before the
// staging tmpfs, so host paths with ',' or ':' need no escaping.
func (r *Root) Overlay(i int, op spec.Op) error {
	if err := r.ensureDir(op, op.Dest, 0o755); err != nil {
		return err
	}
	fds := r.sources[i]
	var opts []string
	lower := fds
	switch op.Kind {
	case spec.OpOverlay:
		opts = append(opts, "upperdir="+procPath(int(fds[0].Fd())), "workdir="+procPath(int(fds[1].Fd())))
		lower = fds[2:]
	case spec.OpTmpOverlay:
		r.n++
		up, work := fmt.Sprintf("%s/overlay-upper-%d", dataDir, r.n), fmt.Sprintf("%s/overlay-work-%d", dataDir, r.n)
		for _, d := range []string{up, work} {
			if err := unix.Mkdir(d, 0o755); err != nil {
				return &OpError{Op: op, Path: op.Dest, What: "create --tmp-overlay upperdir for", Err: err}
			}
		}
		opts = append(opts, "upperdir="+up, "workdir="+work)
	}
	var ls []string
	for _, f := range lower {
		ls = append(ls, procPath(int(f.Fd())))
	}
	opts = append(opts, "lowerdir="+strings.Join(ls, ":"), "userxattr")
	flags := uintptr(0)
	if op.Kind == spec.OpROOverlay {
		flags |= unix.MS_RDONLY
	}
	err := r.mountAt(op, op.Dest, "overlay", flags, strings.Join(opts, ","))
	if err != nil && errors.Is(err, unix.ELOOP) {
		return &OpError{Op: op, Path: op.Dest, What: "make overlay mount on", Err: errors.New("overlay directories may not overlap")}
	}
	return err
}

// LockFile implements Builder: a read lock held while the sandbox runs.
func (r *Root) LockFile(op spec.Op) error {
	fd, err := r.resolve(op.Dest, unix.O_RDONLY)
	if err != nil {
		return &OpError{Op: op, Path: op.Dest, What: "open lock file", Err: err}
	}
	f := os.NewFile(uintptr(fd), op.Dest)
	lk := unix.Flock_t{Type: unix.F_RDLCK, Whence: 0}
	if err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk); err != nil {
		f.Close()
		return &OpError{Op: op, Path: op.Dest, What: "lock file", Err: err}
	}
	r.locks = append(r.locks, f)
	return nil
}
