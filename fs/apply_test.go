package fs

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"sandbox/spec"
)

// recorder is a Builder that records every call in order and can be told
// which sources are missing and which calls fail.
type recorder struct {
	calls   []string
	missing map[string]bool  // host sources that do not exist
	fail    map[string]error // call (as recorded) -> error to return
}

func (r *recorder) do(call string) error {
	r.calls = append(r.calls, call)
	return r.fail[call]
}

func (r *recorder) Bind(i int, op spec.Op) error {
	return r.do(fmt.Sprintf("Bind %d %s %s->%s", i, op.Kind, op.Source, op.Dest))
}
func (r *recorder) RemountRO(op spec.Op) error { return r.do("RemountRO " + op.Dest) }
func (r *recorder) Proc(op spec.Op) error      { return r.do("Proc " + op.Dest) }
func (r *recorder) Dev(op spec.Op) error       { return r.do("Dev " + op.Dest) }
func (r *recorder) Tmpfs(op spec.Op) error     { return r.do("Tmpfs " + op.Dest) }
func (r *recorder) Mqueue(op spec.Op) error    { return r.do("Mqueue " + op.Dest) }
func (r *recorder) Dir(op spec.Op) error       { return r.do("Dir " + op.Dest) }
func (r *recorder) File(op spec.Op) error      { return r.do(fmt.Sprintf("File %d %s", op.FD, op.Dest)) }
func (r *recorder) BindData(op spec.Op) error {
	return r.do(fmt.Sprintf("BindData %s %d %s", op.Kind, op.FD, op.Dest))
}
func (r *recorder) Symlink(op spec.Op) error { return r.do("Symlink " + op.Source + " " + op.Dest) }
func (r *recorder) Chmod(op spec.Op) error {
	return r.do(fmt.Sprintf("Chmod %#o %s", op.Perms, op.Dest))
}
func (r *recorder) Overlay(i int, op spec.Op) error {
	return r.do(fmt.Sprintf("Overlay %d %s %s", i, op.Kind, op.Dest))
}
func (r *recorder) LockFile(op spec.Op) error { return r.do("LockFile " + op.Dest) }

// opsBuilder binds a recorder to the op list so that SourceMissing(i) can
// look at op i's source, as the Linux Builder does.
type opsBuilder struct {
	*recorder
	ops []spec.Op
}

func (b opsBuilder) SourceMissing(i int) bool {
	b.calls = append(b.calls, fmt.Sprintf("SourceMissing %d", i))
	return b.missing[b.ops[i].Source]
}

func build(ops []spec.Op, missing ...string) (opsBuilder, *recorder) {
	r := &recorder{missing: map[string]bool{}, fail: map[string]error{}}
	for _, m := range missing {
		r.missing[m] = true
	}
	return opsBuilder{r, ops}, r
}

func op(k spec.OpKind, src, dst string) spec.Op {
	return spec.Op{Kind: k, Source: src, Dest: dst, FD: spec.NoFD, Perms: -1}
}

func TestApplyOrder(t *testing.T) {
	ops := []spec.Op{
		op(spec.OpLockFile, "", "/first.lock"),
		op(spec.OpROBind, "/", "/"),
		op(spec.OpProc, "", "/proc"),
		op(spec.OpDev, "", "/dev"),
		op(spec.OpTmpfs, "", "/tmp"),
		op(spec.OpMqueue, "", "/dev/mqueue"),
		op(spec.OpBind, "/src", "/dst"),
		op(spec.OpDevBind, "/dev/dri", "/dev/dri"),
		{Kind: spec.OpBindFD, Dest: "/fd", FD: 5, Perms: -1},
		{Kind: spec.OpROBindFD, Dest: "/rofd", FD: 6, Perms: -1},
		op(spec.OpRemountRO, "", "/dst"),
		op(spec.OpDir, "", "/d"),
		{Kind: spec.OpFile, Dest: "/f", FD: 7, Perms: -1},
		{Kind: spec.OpBindData, Dest: "/bd", FD: 8, Perms: -1},
		{Kind: spec.OpROBindData, Dest: "/rbd", FD: 9, Perms: -1},
		op(spec.OpSymlink, "usr/bin", "/bin"),
		{Kind: spec.OpChmod, Dest: "/d", FD: spec.NoFD, Perms: 0700},
		op(spec.OpLockFile, "", "/mid.lock"),
		{Kind: spec.OpOverlay, Source: "/rw", Work: "/w", Dest: "/o", Lower: []string{"/l"}, FD: spec.NoFD, Perms: -1},
		{Kind: spec.OpTmpOverlay, Dest: "/t", Lower: []string{"/l"}, FD: spec.NoFD, Perms: -1},
		{Kind: spec.OpROOverlay, Dest: "/r", Lower: []string{"/l2", "/l1"}, FD: spec.NoFD, Perms: -1},
		op(spec.OpLockFile, "", "/last.lock"),
	}
	b, r := build(ops)
	if err := Apply(ops, b); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"SourceMissing 1", "Bind 1 ro-bind /->/",
		"Proc /proc",
		"Dev /dev",
		"Tmpfs /tmp",
		"Mqueue /dev/mqueue",
		"SourceMissing 6", "Bind 6 bind /src->/dst",
		"SourceMissing 7", "Bind 7 dev-bind /dev/dri->/dev/dri",
		"Bind 8 bind-fd ->/fd",
		"Bind 9 ro-bind-fd ->/rofd",
		"RemountRO /dst",
		"Dir /d",
		"File 7 /f",
		"BindData bind-data 8 /bd",
		"BindData ro-bind-data 9 /rbd",
		"Symlink usr/bin /bin",
		"Chmod 0700 /d",
		"Overlay 18 overlay /o",
		"Overlay 19 tmp-overlay /t",
		"Overlay 20 ro-overlay /r",
		"LockFile /first.lock",
		"LockFile /mid.lock",
		"LockFile /last.lock",
	}
	if !reflect.DeepEqual(r.calls, want) {
		t.Errorf("calls:\n got %q\nwant %q", r.calls, want)
	}
}

func TestApplyTrySkipsMissingSource(t *testing.T) {
	try := func(o spec.Op) spec.Op { o.Try = true; return o }
	ops := []spec.Op{
		try(op(spec.OpBind, "/gone1", "/a")),
		try(op(spec.OpROBind, "/gone2", "/b")),
		try(op(spec.OpDevBind, "/gone3", "/c")),
		try(op(spec.OpROBind, "/here", "/d")),
		op(spec.OpDir, "", "/e"),
	}
	b, r := build(ops, "/gone1", "/gone2", "/gone3")
	if err := Apply(ops, b); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	want := []string{"SourceMissing 0", "SourceMissing 1", "SourceMissing 2", "SourceMissing 3", "Bind 3 ro-bind /here->/d", "Dir /e"}
	if !reflect.DeepEqual(r.calls, want) {
		t.Errorf("calls:\n got %q\nwant %q", r.calls, want)
	}
}

func TestApplyMissingSource(t *testing.T) {
	for _, kind := range []spec.OpKind{spec.OpBind, spec.OpROBind, spec.OpDevBind} {
		t.Run(string(kind), func(t *testing.T) {
			ops := []spec.Op{op(spec.OpDir, "", "/before"), op(kind, "/no/such", "/x"), op(spec.OpDir, "", "/after"), op(spec.OpLockFile, "", "/l")}
			b, r := build(ops, "/no/such")
			err := Apply(ops, b)
			var oe *OpError
			if !errors.As(err, &oe) {
				t.Fatalf("Apply error = %v (%T), want *OpError", err, err)
			}
			if oe.Op.Kind != kind || oe.Path != "/no/such" {
				t.Errorf("OpError op %s path %q, want %s /no/such", oe.Op.Kind, oe.Path, kind)
			}
			if !errors.Is(err, iofs.ErrNotExist) {
				t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", err)
			}
			if !strings.Contains(err.Error(), "/no/such") || !strings.Contains(err.Error(), "--"+string(kind)) {
				t.Errorf("Error() = %q, want it to name --%s and /no/such", err.Error(), kind)
			}
			want := []string{"Dir /before", "SourceMissing 1"}
			if !reflect.DeepEqual(r.calls, want) {
				t.Errorf("calls = %q, want %q (nothing after the failure, no lock files)", r.calls, want)
			}
		})
	}
}

func TestApplyMissingSourceBwrapMsg(t *testing.T) {
	ops := []spec.Op{op(spec.OpBind, "/no/such", "/x")}
	b, _ := build(ops, "/no/such")
	var oe *OpError
	if !errors.As(Apply(ops, b), &oe) {
		t.Fatal("want an *OpError")
	}
	want := "Can't find source path /no/such: No such file or directory"
	if got := oe.BwrapMsg(); got != want {
		t.Fatalf("BwrapMsg() = %q, want %q (the error must be ENOENT, whose strerror bubblewrap prints)", got, want)
	}
}

func TestApplyStopsAtBuilderError(t *testing.T) {
	ops := []spec.Op{op(spec.OpDir, "", "/a"), op(spec.OpTmpfs, "", "/b"), op(spec.OpDir, "", "/c"), op(spec.OpLockFile, "", "/l")}
	b, r := build(ops)
	boom := &OpError{Op: ops[1], Path: "/b", What: "mount tmpfs on", Err: syscall.EPERM}
	r.fail["Tmpfs /b"] = boom
	if err := Apply(ops, b); err != boom {
		t.Fatalf("Apply error = %v, want the Builder's error unchanged", err)
	}
	if want := []string{"Dir /a", "Tmpfs /b"}; !reflect.DeepEqual(r.calls, want) {
		t.Errorf("calls = %q, want %q", r.calls, want)
	}
}

func TestApplyLockFileError(t *testing.T) {
	ops := []spec.Op{op(spec.OpLockFile, "", "/l1"), op(spec.OpLockFile, "", "/l2"), op(spec.OpDir, "", "/a")}
	b, r := build(ops)
	r.fail["LockFile /l1"] = syscall.ENOENT
	if err := Apply(ops, b); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("Apply error = %v, want ENOENT", err)
	}
	if want := []string{"Dir /a", "LockFile /l1"}; !reflect.DeepEqual(r.calls, want) {
		t.Errorf("calls = %q, want %q", r.calls, want)
	}
}

func TestApplyUnknownOp(t *testing.T) {
	ops := []spec.Op{{Kind: "teleport", Dest: "/x"}}
	b, _ := build(ops)
	err := Apply(ops, b)
	if err == nil || !strings.Contains(err.Error(), "teleport") {
		t.Errorf("Apply(unknown op) = %v, want an error naming it", err)
	}
}

func TestApplyNothing(t *testing.T) {
	b, r := build(nil)
	if err := Apply(nil, b); err != nil || len(r.calls) != 0 {
		t.Errorf("Apply(nil) = %v with calls %q, want nothing", err, r.calls)
	}
}

func TestOpErrorBwrapMsg(t *testing.T) {
	tests := []struct {
		name string
		err  OpError
		want string
	}{
		{
			name: "mkdir",
			err:  OpError{Op: op(spec.OpDir, "", "/a/b"), Path: "/a/b", What: "mkdir", Err: syscall.ENOTDIR},
			want: "Can't mkdir /a/b: Not a directory",
		},
		{
			name: "create",
			err:  OpError{Op: op(spec.OpBind, "/f", "/d"), Path: "/d", What: "create file at", Err: syscall.EISDIR},
			want: "Can't create file at /d: Is a directory",
		},
		{
			name: "chmod",
			err:  OpError{Op: spec.Op{Kind: spec.OpChmod, Dest: "/x", Perms: 0755}, Path: "/x", What: "chmod", Err: syscall.ENOENT},
			want: "Can't chmod 0755 /x: No such file or directory",
		},
		{
			name: "chmod 0 prints 0",
			err:  OpError{Op: spec.Op{Kind: spec.OpChmod, Dest: "/x", Perms: 0}, Path: "/x", What: "chmod", Err: syscall.EPERM},
			want: "Can't chmod 0 /x: Operation not permitted",
		},
		{
			name: "symlink",
			err:  OpError{Op: op(spec.OpSymlink, "t", "/s"), Path: "/s", What: "make symlink at", Err: syscall.EEXIST},
			want: "Can't make symlink at /s: File exists",
		},
		{
			name: "source with a wrapped errno",
			err:  OpError{Op: op(spec.OpBind, "/gone", "/x"), Path: "/gone", What: "source", Err: fmt.Errorf("realpath: %w", syscall.ENOENT)},
			want: "Can't find source path /gone: No such file or directory",
		},
		{
			name: "other steps",
			err:  OpError{Op: op(spec.OpMqueue, "", "/q"), Path: "/q", What: "mount mqueue on", Err: syscall.EPERM},
			want: "Can't mount mqueue on /newroot/q: Operation not permitted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.BwrapMsg(); got != tt.want {
				t.Errorf("BwrapMsg() = %q, want %q", got, tt.want)
			}
			if msg := tt.err.Error(); !strings.Contains(msg, tt.err.Path) || !strings.Contains(msg, "--"+string(tt.err.Op.Kind)) {
				t.Errorf("Error() = %q, want it to name --%s and %s", msg, tt.err.Op.Kind, tt.err.Path)
			}
			if !errors.Is(&tt.err, tt.err.Err) {
				t.Errorf("OpError does not unwrap to %v", tt.err.Err)
			}
		})
	}
}
