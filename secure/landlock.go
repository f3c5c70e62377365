package secure

import (
	"path"
	"strings"

	"sandbox/spec"
)

// Landlock is the second wall behind the mount namespace: if the program
// gets hold of something outside its root (an inherited directory fd, a magic
// link in /proc, a host process's /proc/PID/root without a pid namespace, a
// mount namespace bug), the kernel still refuses opens that no rule grants.
//
// Rules attach to inodes, not to paths, and a rule grants its rights to
// everything beneath it: rights only add up going down the tree. So a
// read-only place beneath a writable rule (--bind /a /a --ro-bind /b /a/b) is
// kept read-only by its read-only mount alone; Landlock cannot take rights
// away below a rule. The root itself is read-only for Landlock (the program
// may not create files in the sandbox's root tmpfs, which its own uid owns).

// PathRule grants access beneath Path (a path inside the sandbox). Every
// rule grants reading files and listing directories.
type PathRule struct {
	Path string
	// Write grants creating, removing, renaming, writing and truncating.
	Write bool
	// Exec grants execve of files beneath Path.
	Exec bool
	// Dev grants ioctls on device files beneath Path (for /dev).
	Dev bool
}

// Landlock access rights, as in linux/landlock.h (uapi, stable).
const (
	llExecute    uint64 = 1 << 0
	llWriteFile  uint64 = 1 << 1
	llReadFile   uint64 = 1 << 2
	llReadDir    uint64 = 1 << 3
	llRemoveDir  uint64 = 1 << 4
	llRemoveFile uint64 = 1 << 5
	llMakeChar   uint64 = 1 << 6
	llMakeDir    uint64 = 1 << 7
	llMakeReg    uint64 = 1 << 8
	llMakeSock   uint64 = 1 << 9
	llMakeFifo   uint64 = 1 << 10
	llMakeBlock  uint64 = 1 << 11
	llMakeSym    uint64 = 1 << 12
	llRefer      uint64 = 1 << 13 // ABI 2
	llTruncate   uint64 = 1 << 14 // ABI 3
	llIoctlDev   uint64 = 1 << 15 // ABI 5

	llScopeAbstractUnix uint64 = 1 << 0 // ABI 6
	llScopeSignal       uint64 = 1 << 1 // ABI 6
)

// Groups of rights the rules grant.
const (
	llRead = llReadFile | llReadDir
	// llWrite leaves out MAKE_BLOCK: no one in a user namespace can create
	// a block device. MAKE_CHAR stays for overlayfs whiteouts (0:0), which
	// unprivileged users may create.
	llWrite = llWriteFile | llRemoveDir | llRemoveFile | llMakeChar | llMakeDir |
		llMakeReg | llMakeSock | llMakeFifo | llMakeSym | llRefer | llTruncate
	// llFileRights are the rights the kernel accepts on a rule for a
	// non-directory; any other right there fails with EINVAL.
	llFileRights = llExecute | llWriteFile | llReadFile | llTruncate | llIoctlDev
)

// minLandlockABI is the oldest ABI ApplyLandlock uses. ABI 1 cannot grant
// LANDLOCK_ACCESS_FS_REFER, and a domain that does not grant it refuses every
// rename or hard link into another directory (EXDEV), which breaks git,
// package managers and atomic saves in writable binds.
const minLandlockABI = 2

// handledFS returns every filesystem right the given ABI knows. Rights a
// kernel lacks are left out (best effort); handling a right it does not know
// would make landlock_create_ruleset fail with EINVAL.
func handledFS(abi int) uint64 {
	if abi < 1 {
		return 0
	}
	h := llExecute | llWriteFile | llReadFile | llReadDir | llRemoveDir | llRemoveFile |
		llMakeChar | llMakeDir | llMakeReg | llMakeSock | llMakeFifo | llMakeBlock | llMakeSym
	if abi >= 2 {
		h |= llRefer
	}
	if abi >= 3 {
		h |= llTruncate
	}
	if abi >= 5 {
		h |= llIoctlDev
	}
	return h
}

// landlockScopes returns the IPC scopes used at the given ABI: abstract unix
// sockets and signals are confined to the sandbox's own Landlock domain.
func landlockScopes(abi int) uint64 {
	if abi >= 6 {
		return llScopeAbstractUnix | llScopeSignal
	}
	return 0
}

// ruleAccess returns the rights a rule grants on a directory (dir) or on a
// single file, limited to what the ABI handles.
func ruleAccess(r PathRule, dir bool, abi int) uint64 {
	a := llRead
	if r.Write {
		a |= llWrite
	}
	if r.Exec {
		a |= llExecute
	}
	if r.Dev {
		a |= llIoctlDev
	}
	if !dir {
		a &= llFileRights
	}
	return a & handledFS(abi)
}

// streamAccess returns the rights for a rule on one of the inherited standard
// streams (so that /dev/stdout, /dev/stderr and /proc/self/fd/N can be opened
// again): no more than the open descriptor already allows.
func streamAccess(read, write, dev bool, abi int) uint64 {
	var a uint64
	if read {
		a |= llReadFile
	}
	if write {
		a |= llWriteFile | llTruncate
	}
	if dev {
		a |= llIoctlDev
	}
	return a & handledFS(abi)
}

// ruleEntry is a rule while the ops are walked.
type ruleEntry struct {
	PathRule
	// mount: the op mounts something at Path, hiding what was there.
	mount bool
	// rootfs: this is the sandbox's own root tmpfs (the base entry).
	rootfs bool
	// readOnly: a --remount-ro made this mount read-only.
	readOnly bool
}

// devNodes are the device nodes --dev binds one by one (each its own mount).
var devNodes = []string{"null", "zero", "full", "random", "urandom", "tty", "console"}

// LandlockRules derives the Landlock rules from the spec's ops. Each op's
// destination gets a rule with the rights its mount gives:
//
//   - --bind, --bind-fd, --tmpfs, --overlay, --tmp-overlay, --bind-data:
//     write and exec; --ro-bind, --ro-bind-fd, --ro-overlay, --ro-bind-data:
//     read and exec; --dev-bind: write, exec and device ioctls;
//   - --proc: write, no exec (the program writes /proc/self/oom_score_adj,
//     task comm, uid_map of nested namespaces; procfs mounts are noexec);
//   - --dev: write and device ioctls, no exec; its device nodes and
//     /dev/pts, which are separate mounts, get rules of their own;
//   - --mqueue: write, no exec;
//   - --dir and --file on the root tmpfs: write and exec (inside another
//     mount they take that mount's rule);
//   - --remount-ro: the mount at DEST (and what --dir/--file made on it)
//     loses write; mounts below keep theirs, as with the mount itself;
//   - --symlink, --chmod, --lock-file: nothing (Landlock does not check
//     symlinks; the target's rule applies. chmod changes DAC bits, which
//     still apply beside Landlock).
//
// Exec goes wherever files are readable, because read is enough to run
// anything (an interpreter, or ld.so with the binary as its argument: mmap
// is not under Landlock); refusing it would only break scripts in a bound
// working directory. /proc, /dev and mqueue hold no programs.
//
// A later mount at or above an earlier destination hides it and drops its
// rules, unless it is a -try op (its source may be missing: then rules at
// the same path are merged). The root "/" comes first, read-only and without
// exec, so the sandbox's root tmpfs can be listed but not written.
func LandlockRules(ops []spec.Op) []PathRule {
	es := []ruleEntry{{PathRule: PathRule{Path: "/"}, mount: true, rootfs: true}}
	for _, op := range ops {
		dest := cleanPath(op.Dest)
		mount := func(rs ...PathRule) { es = mountEntries(es, op.Try, rs) }
		switch op.Kind {
		case spec.OpBind, spec.OpBindFD, spec.OpTmpfs, spec.OpOverlay, spec.OpTmpOverlay, spec.OpBindData:
			mount(PathRule{Path: dest, Write: true, Exec: true})
		case spec.OpROBind, spec.OpROBindFD, spec.OpROOverlay, spec.OpROBindData:
			mount(PathRule{Path: dest, Exec: true})
		case spec.OpDevBind:
			mount(PathRule{Path: dest, Write: true, Exec: true, Dev: true})
		case spec.OpProc, spec.OpMqueue:
			mount(PathRule{Path: dest, Write: true})
		case spec.OpDev:
			rs := []PathRule{{Path: dest, Write: true, Dev: true}, {Path: path.Join(dest, "pts"), Write: true, Dev: true}}
			for _, n := range devNodes {
				rs = append(rs, PathRule{Path: path.Join(dest, n), Write: true, Dev: true})
			}
			mount(rs...)
		case spec.OpDir, spec.OpFile:
			es = createEntry(es, dest)
		case spec.OpRemountRO:
			remountEntries(es, dest)
		}
	}
	out := make([]PathRule, 0, len(es))
	for _, e := range es {
		out = append(out, e.PathRule)
	}
	return out
}

// mountEntries records new mounts: unless try, whatever was at or beneath
// each new rule's path is hidden and dropped.
func mountEntries(es []ruleEntry, try bool, rs []PathRule) []ruleEntry {
	for _, r := range rs {
		if !try {
			kept := es[:0]
			for _, e := range es {
				if !beneathOrAt(e.Path, r.Path) {
					kept = append(kept, e)
				}
			}
			es = kept
		}
		if i := entryAt(es, r.Path); i >= 0 {
			es[i].Write = es[i].Write || r.Write
			es[i].Exec = es[i].Exec || r.Exec
			es[i].Dev = es[i].Dev || r.Dev
			es[i].mount = true
			continue
		}
		es = append(es, ruleEntry{PathRule: r, mount: true})
	}
	return es
}

// createEntry records a --dir or --file. On the root tmpfs it is a place of
// its own (the root itself is read-only for Landlock); inside another mount
// the enclosing rule already covers it. An existing rule at the same path
// is kept: --dir leaves an existing directory as it is.
func createEntry(es []ruleEntry, dest string) []ruleEntry {
	if entryAt(es, dest) >= 0 {
		return es
	}
	m := enclosingMount(es, dest)
	if m < 0 || !es[m].rootfs {
		return es
	}
	return append(es, ruleEntry{PathRule: PathRule{Path: dest, Write: !es[m].readOnly, Exec: true}})
}

// remountEntries applies --remount-ro DEST: the mount at DEST and the
// entries created on it lose write. Mounts below DEST are other mounts and
// keep theirs (bubblewrap's --remount-ro changes only DEST's own mount). When
// DEST is not an op's mount (a host submount inside a bind), Landlock cannot
// make it stricter than the rule above it: its read-only mount holds alone.
func remountEntries(es []ruleEntry, dest string) {
	m := enclosingMount(es, dest)
	if m < 0 || es[m].Path != dest {
		return
	}
	es[m].Write, es[m].readOnly = false, true
	for i := range es {
		if !es[i].mount && enclosingMount(es, es[i].Path) == m {
			es[i].Write = false
		}
	}
}

// enclosingMount returns the index of the mount entry nearest above or at p,
// or -1.
func enclosingMount(es []ruleEntry, p string) int {
	best := -1
	for i, e := range es {
		if e.mount && beneathOrAt(p, e.Path) && (best < 0 || len(e.Path) > len(es[best].Path)) {
			best = i
		}
	}
	return best
}

func entryAt(es []ruleEntry, p string) int {
	for i, e := range es {
		if e.Path == p {
			return i
		}
	}
	return -1
}

// beneathOrAt reports whether p is dir or below it.
func beneathOrAt(p, dir string) bool {
	return dir == "/" || p == dir || strings.HasPrefix(p, dir+"/")
}

func cleanPath(p string) string { return path.Clean("/" + p) }

// LandlockRaw is ApplyLandlock worked out ahead for a process that can make
// only raw system calls (the sandbox's fast init): the ruleset attribute as
// the kernel reads it, each rule's rights for a directory and for anything
// else, and the standard streams' rights by open mode.
type LandlockRaw struct {
	// Attr is struct landlock_ruleset_attr, as long as the ABI knows it.
	Attr  []byte
	Rules []LandlockRawRule
	// Streams[read<<2|write<<1|dev] are the rights of a standard stream
	// (a regular file, a FIFO or, with dev, a character device).
	Streams [8]uint64
}

// LandlockRawRule is one PathRule's rights.
type LandlockRawRule struct {
	Path        string
	Dir, NotDir uint64 // the rights on a directory, on anything else
}

// CompileLandlock returns what ApplyLandlock would do with rules at abi, or
// nil when it would do nothing (abi below minLandlockABI).
func CompileLandlock(rules []PathRule, abi int) *LandlockRaw {
	if abi < minLandlockABI {
		return nil
	}
	attr := make([]byte, 24)
	le := func(off int, v uint64) {
		for i := 0; i < 8; i++ {
			attr[off+i] = byte(v >> (8 * i))
		}
	}
	le(0, handledFS(abi))
	le(16, landlockScopes(abi))
	size := 8
	switch {
	case abi >= 6:
		size = 24
	case abi >= 4:
		size = 16
	}
	l := &LandlockRaw{Attr: attr[:size]}
	for _, r := range rules {
		l.Rules = append(l.Rules, LandlockRawRule{Path: r.Path, Dir: ruleAccess(r, true, abi), NotDir: ruleAccess(r, false, abi)})
	}
	for i := range l.Streams {
		l.Streams[i] = streamAccess(i&4 != 0, i&2 != 0, i&1 != 0, abi)
	}
	return l
}
