package secure

import (
	"reflect"
	"testing"

	"sandbox/spec"
)

// llOp builds an op as the parser does: no fd, default perms.
func llOp(k spec.OpKind, src, dst string) spec.Op {
	return spec.Op{Kind: k, Source: src, Dest: dst, FD: spec.NoFD, Perms: -1}
}

func llTryOp(k spec.OpKind, src, dst string) spec.Op {
	o := llOp(k, src, dst)
	o.Try = true
	return o
}

var (
	llRootRO = PathRule{Path: "/"}
	roRule   = func(p string) PathRule { return PathRule{Path: p, Exec: true} }
	rwRule   = func(p string) PathRule { return PathRule{Path: p, Write: true, Exec: true} }
)

// llDevRules is what --dev DEST gives: DEST, its devpts and each device node.
func llDevRules(dest string) []PathRule {
	rs := []PathRule{{Path: dest, Write: true, Dev: true}, {Path: dest + "/pts", Write: true, Dev: true}}
	for _, n := range devNodes {
		rs = append(rs, PathRule{Path: dest + "/" + n, Write: true, Dev: true})
	}
	return rs
}

// llRules flattens rules and rule lists into one list.
func llRules(rs ...any) []PathRule {
	var out []PathRule
	for _, r := range rs {
		switch r := r.(type) {
		case PathRule:
			out = append(out, r)
		case []PathRule:
			out = append(out, r...)
		}
	}
	return out
}

func TestLandlockRules(t *testing.T) {
	tests := []struct {
		name string
		ops  []spec.Op
		want []PathRule
	}{
		{name: "no ops: the root alone, read-only", want: llRules(llRootRO)},
		{name: "bind", ops: []spec.Op{llOp(spec.OpBind, "/src", "/work")}, want: llRules(llRootRO, rwRule("/work"))},
		{name: "ro-bind", ops: []spec.Op{llOp(spec.OpROBind, "/usr", "/usr")}, want: llRules(llRootRO, roRule("/usr"))},
		{name: "dev-bind", ops: []spec.Op{llOp(spec.OpDevBind, "/dev", "/dev")},
			want: llRules(llRootRO, PathRule{Path: "/dev", Write: true, Exec: true, Dev: true})},
		{name: "bind-fd and ro-bind-fd", ops: []spec.Op{llOp(spec.OpBindFD, "", "/a"), llOp(spec.OpROBindFD, "", "/b")},
			want: llRules(llRootRO, rwRule("/a"), roRule("/b"))},
		{name: "ro-bind of / replaces the root rule", ops: []spec.Op{llOp(spec.OpROBind, "/", "/")}, want: llRules(roRule("/"))},
		{name: "dev-bind / / (exec everywhere)", ops: []spec.Op{llOp(spec.OpDevBind, "/", "/")},
			want: llRules(PathRule{Path: "/", Write: true, Exec: true, Dev: true})},
		{name: "ro-bind / / then tmpfs /tmp: / read-only, /tmp writable",
			ops:  []spec.Op{llOp(spec.OpROBind, "/", "/"), llOp(spec.OpTmpfs, "", "/tmp")},
			want: llRules(roRule("/"), rwRule("/tmp"))},
		{name: "tmpfs", ops: []spec.Op{llOp(spec.OpTmpfs, "", "/tmp")}, want: llRules(llRootRO, rwRule("/tmp"))},
		{name: "proc: write, no exec", ops: []spec.Op{llOp(spec.OpProc, "", "/proc")},
			want: llRules(llRootRO, PathRule{Path: "/proc", Write: true})},
		{name: "mqueue: write, no exec", ops: []spec.Op{llOp(spec.OpMqueue, "", "/dev/mqueue")},
			want: llRules(llRootRO, PathRule{Path: "/dev/mqueue", Write: true})},
		{name: "dev: the tmpfs, devpts and each node with device ioctls", ops: []spec.Op{llOp(spec.OpDev, "", "/dev")},
			want: llRules(llRootRO, llDevRules("/dev"))},
		{name: "dev elsewhere", ops: []spec.Op{llOp(spec.OpDev, "", "/newdev/")}, want: llRules(llRootRO, llDevRules("/newdev"))},
		{name: "dir on the root tmpfs is writable", ops: []spec.Op{llOp(spec.OpDir, "", "/data")}, want: llRules(llRootRO, rwRule("/data"))},
		{name: "file on the root tmpfs is writable", ops: []spec.Op{llOp(spec.OpFile, "", "/etc/motd")}, want: llRules(llRootRO, rwRule("/etc/motd"))},
		{name: "dir inside a read-only bind takes the bind's rule",
			ops:  []spec.Op{llOp(spec.OpROBind, "/", "/"), llOp(spec.OpDir, "", "/tmp/x")},
			want: llRules(roRule("/"))},
		{name: "dir inside a tmpfs takes the tmpfs's rule",
			ops:  []spec.Op{llOp(spec.OpTmpfs, "", "/tmp"), llOp(spec.OpDir, "", "/tmp/x")},
			want: llRules(llRootRO, rwRule("/tmp"))},
		{name: "dir over an existing bind leaves it as it is",
			ops:  []spec.Op{llOp(spec.OpROBind, "/usr", "/usr"), llOp(spec.OpDir, "", "/usr")},
			want: llRules(llRootRO, roRule("/usr"))},
		{name: "dir twice", ops: []spec.Op{llOp(spec.OpDir, "", "/d"), llOp(spec.OpDir, "", "/d")}, want: llRules(llRootRO, rwRule("/d"))},
		{name: "bind-data writable, ro-bind-data read-only",
			ops:  []spec.Op{llOp(spec.OpBindData, "", "/etc/a"), llOp(spec.OpROBindData, "", "/etc/b")},
			want: llRules(llRootRO, rwRule("/etc/a"), roRule("/etc/b"))},
		{name: "overlays", ops: []spec.Op{llOp(spec.OpOverlay, "", "/o"), llOp(spec.OpTmpOverlay, "", "/t"), llOp(spec.OpROOverlay, "", "/r")},
			want: llRules(llRootRO, rwRule("/o"), rwRule("/t"), roRule("/r"))},
		{name: "symlink, chmod and lock-file add nothing",
			ops: []spec.Op{llOp(spec.OpROBind, "/usr", "/usr"), llOp(spec.OpSymlink, "usr/bin", "/bin"),
				{Kind: spec.OpChmod, Dest: "/usr", FD: spec.NoFD, Perms: 0o777}, llOp(spec.OpLockFile, "", "/usr/lock")},
			want: llRules(llRootRO, roRule("/usr"))},
		{name: "a later mount at the same place replaces the rule",
			ops:  []spec.Op{llOp(spec.OpBind, "/a", "/x"), llOp(spec.OpROBind, "/b", "/x")},
			want: llRules(llRootRO, roRule("/x"))},
		{name: "a later mount above hides the rules below",
			ops:  []spec.Op{llOp(spec.OpTmpfs, "", "/x/y"), llOp(spec.OpDir, "", "/x/z"), llOp(spec.OpROBind, "/b", "/x")},
			want: llRules(llRootRO, roRule("/x"))},
		{name: "a mount beside does not hide", ops: []spec.Op{llOp(spec.OpTmpfs, "", "/x/y"), llOp(spec.OpROBind, "/b", "/x/yy")},
			want: llRules(llRootRO, rwRule("/x/y"), roRule("/x/yy"))},
		{name: "a -try mount merges instead of hiding (its source may be missing)",
			ops:  []spec.Op{llOp(spec.OpBind, "/a", "/x"), llOp(spec.OpTmpfs, "", "/x/t"), llTryOp(spec.OpROBind, "/missing", "/x")},
			want: llRules(llRootRO, rwRule("/x"), rwRule("/x/t"))},
		{name: "a -try mount at a new place adds its rule",
			ops: []spec.Op{llTryOp(spec.OpROBind, "/etc/resolv.conf", "/etc/resolv.conf")}, want: llRules(llRootRO, roRule("/etc/resolv.conf"))},
		{name: "remount-ro turns a writable mount read-only",
			ops:  []spec.Op{llOp(spec.OpBind, "/a", "/a"), llOp(spec.OpRemountRO, "", "/a")},
			want: llRules(llRootRO, roRule("/a"))},
		{name: "remount-ro of a tmpfs", ops: []spec.Op{llOp(spec.OpTmpfs, "", "/tmp"), llOp(spec.OpRemountRO, "", "/tmp/")},
			want: llRules(llRootRO, roRule("/tmp"))},
		{name: "remount-ro keeps the mounts below it (they are other mounts)",
			ops:  []spec.Op{llOp(spec.OpBind, "/", "/"), llOp(spec.OpTmpfs, "", "/tmp"), llOp(spec.OpRemountRO, "", "/")},
			want: llRules(roRule("/"), rwRule("/tmp"))},
		{name: "remount-ro / makes dirs and files on the root tmpfs read-only",
			ops: []spec.Op{llOp(spec.OpDir, "", "/d"), llOp(spec.OpFile, "", "/f"), llOp(spec.OpTmpfs, "", "/tmp"),
				llOp(spec.OpRemountRO, "", "/"), llOp(spec.OpDir, "", "/later")},
			want: llRules(llRootRO, roRule("/d"), roRule("/f"), rwRule("/tmp"), roRule("/later"))},
		{name: "remount-ro of a dir on the root tmpfs is not a mount: nothing changes",
			ops:  []spec.Op{llOp(spec.OpDir, "", "/d"), llOp(spec.OpRemountRO, "", "/d")},
			want: llRules(llRootRO, rwRule("/d"))},
		{name: "remount-ro of a host submount inside a bind cannot be narrowed",
			ops:  []spec.Op{llOp(spec.OpBind, "/", "/"), llOp(spec.OpRemountRO, "", "/home")},
			want: llRules(rwRule("/"))},
		{name: "remount-ro of /dev keeps the device nodes and devpts writable",
			ops: []spec.Op{llOp(spec.OpDev, "", "/dev"), llOp(spec.OpRemountRO, "", "/dev")},
			want: func() []PathRule {
				rs := llDevRules("/dev")
				rs[0].Write = false
				return llRules(llRootRO, rs)
			}()},
		{name: "remount-ro before a later mount at the same place does not carry over",
			ops:  []spec.Op{llOp(spec.OpTmpfs, "", "/x"), llOp(spec.OpRemountRO, "", "/x"), llOp(spec.OpTmpfs, "", "/x")},
			want: llRules(llRootRO, rwRule("/x"))},
		{name: "sandbox defaults: usr, proc, dev, tmp, symlinks, cwd",
			ops: []spec.Op{llOp(spec.OpROBind, "/usr", "/usr"), llOp(spec.OpProc, "", "/proc"), llOp(spec.OpDev, "", "/dev"),
				llOp(spec.OpTmpfs, "", "/tmp"), llOp(spec.OpSymlink, "usr/lib", "/lib"), llTryOp(spec.OpROBind, "/home/u/p", "/home/u/p")},
			want: llRules(llRootRO, roRule("/usr"), PathRule{Path: "/proc", Write: true}, llDevRules("/dev"), rwRule("/tmp"), roRule("/home/u/p"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := LandlockRules(tt.ops)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("LandlockRules =\n  %+v\nwant\n  %+v", got, tt.want)
			}
		})
	}
}

// TestLandlockRulesFromParse runs a bwrap command line through the parser,
// as the runtime does.
func TestLandlockRulesFromParse(t *testing.T) {
	s, _, err := spec.Parse(spec.Bwrap, []string{"--ro-bind", "/", "/", "--tmpfs", "/tmp", "--dev", "/dev",
		"--bind", "/srv/data", "/data", "--remount-ro", "/data", "--symlink", "/tmp", "/var/tmp", "true"}, spec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := llRules(roRule("/"), rwRule("/tmp"), llDevRules("/dev"), roRule("/data"))
	if got := LandlockRules(s.Ops); !reflect.DeepEqual(got, want) {
		t.Errorf("LandlockRules =\n  %+v\nwant\n  %+v", got, want)
	}
}

func TestHandledFS(t *testing.T) {
	const abi1 = 1<<13 - 1
	tests := []struct {
		abi  int
		want uint64
	}{
		{0, 0},
		{1, abi1},
		{2, abi1 | llRefer},
		{3, abi1 | llRefer | llTruncate},
		{4, abi1 | llRefer | llTruncate},
		{5, abi1 | llRefer | llTruncate | llIoctlDev},
		{6, abi1 | llRefer | llTruncate | llIoctlDev},
		{7, abi1 | llRefer | llTruncate | llIoctlDev},
		{99, abi1 | llRefer | llTruncate | llIoctlDev},
	}
	for _, tt := range tests {
		if got := handledFS(tt.abi); got != tt.want {
			t.Errorf("handledFS(%d) = %#x, want %#x", tt.abi, got, tt.want)
		}
	}
}

func TestLandlockScopes(t *testing.T) {
	for abi, want := range map[int]uint64{0: 0, 2: 0, 5: 0, 6: 3, 7: 3} {
		if got := landlockScopes(abi); got != want {
			t.Errorf("landlockScopes(%d) = %#x, want %#x", abi, got, want)
		}
	}
}

func TestRuleAccess(t *testing.T) {
	const read = llReadFile | llReadDir
	tests := []struct {
		name string
		rule PathRule
		dir  bool
		abi  int
		want uint64
	}{
		{"read-only dir", PathRule{Path: "/"}, true, 7, read},
		{"read-only dir with exec", PathRule{Exec: true}, true, 7, read | llExecute},
		{"writable dir, abi 7", PathRule{Write: true}, true, 7, read | llWrite},
		{"writable dir never makes block devices", PathRule{Write: true, Exec: true, Dev: true}, true, 7, read | llWrite | llExecute | llIoctlDev},
		{"writable dir, abi 2: no truncate", PathRule{Write: true}, true, 2, read | llWrite&^llTruncate},
		{"writable dir, abi 3: truncate", PathRule{Write: true}, true, 3, read | llWrite},
		{"dev dir, abi 4: no ioctl right", PathRule{Write: true, Dev: true}, true, 4, read | llWrite},
		{"dev dir, abi 5", PathRule{Write: true, Dev: true}, true, 5, read | llWrite | llIoctlDev},
		{"read-only file: no read-dir", PathRule{Exec: true}, false, 7, llReadFile | llExecute},
		{"writable file: file rights only", PathRule{Write: true, Exec: true}, false, 7, llReadFile | llWriteFile | llTruncate | llExecute},
		{"device node", PathRule{Write: true, Dev: true}, false, 7, llReadFile | llWriteFile | llTruncate | llIoctlDev},
		{"device node, abi 2", PathRule{Write: true, Dev: true}, false, 2, llReadFile | llWriteFile},
		{"abi 0: nothing", PathRule{Write: true}, true, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ruleAccess(tt.rule, tt.dir, tt.abi)
			if got != tt.want {
				t.Errorf("ruleAccess = %#x, want %#x", got, tt.want)
			}
			if !tt.dir && got&^llFileRights != 0 {
				t.Errorf("file rule carries directory rights %#x (EINVAL from the kernel)", got&^llFileRights)
			}
			if got&^handledFS(tt.abi) != 0 {
				t.Errorf("rule grants %#x, which abi %d does not handle", got&^handledFS(tt.abi), tt.abi)
			}
		})
	}
}

func TestStreamAccess(t *testing.T) {
	tests := []struct {
		read, write, dev bool
		abi              int
		want             uint64
	}{
		{true, false, false, 7, llReadFile},
		{false, true, false, 7, llWriteFile | llTruncate},
		{true, true, true, 7, llReadFile | llWriteFile | llTruncate | llIoctlDev},
		{true, true, true, 2, llReadFile | llWriteFile},
		{false, false, true, 4, 0},
	}
	for _, tt := range tests {
		if got := streamAccess(tt.read, tt.write, tt.dev, tt.abi); got != tt.want {
			t.Errorf("streamAccess(%v, %v, %v, %d) = %#x, want %#x", tt.read, tt.write, tt.dev, tt.abi, got, tt.want)
		}
	}
}
