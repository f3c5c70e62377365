package test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// This file covers what bubblewrap 0.8.0 cannot be compared against: the
// 0.11-only options (overlays, --argv0, --level-prefix), --bind-fd, and the
// sandbox personality's filesystem behaviour. Everything runs on ours only.

// makeTree creates files (relative path -> content) under root.
func makeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// listTree returns "path=content" for every file under root and "path/" for
// every directory, sorted: a snapshot to compare before and after a run.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if fi.IsDir() {
			out = append(out, rel+"/")
		} else {
			b, _ := os.ReadFile(p)
			out = append(out, rel+"="+string(b))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func readHostFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// bwrapRoot is a bwrap-personality root: /usr, the merged-/usr links, /proc.
func bwrapRoot(parts ...string) []string {
	return concat(usrArgs(), []string{"--proc", "/proc"}, parts)
}

// mountLine returns the /proc/self/mountinfo line printed for mount point mp
// by a script that ran `cat /proc/self/mountinfo`, or "".
func mountLine(mountinfo, mp string) string {
	line := ""
	for _, l := range strings.Split(mountinfo, "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == mp {
			line = l // the last one is the visible one
		}
	}
	return line
}

func TestFSOverlay(t *testing.T) {
	requireUser(t)
	t.Run("overlay writes land in RWSRC", func(t *testing.T) {
		d := workDir(t)
		lower, up, work := filepath.Join(d, "lower"), filepath.Join(d, "up"), filepath.Join(d, "work")
		makeTree(t, lower, map[string]string{"f": "low\n", "keep": "keep\n"})
		os.Mkdir(up, 0o755)
		os.Mkdir(work, 0o755)
		r := runWith(t, runOpts{dir: d}, bwrapBin, bwrapRoot("--overlay-src", lower, "--overlay", up, work, "/o",
			"sh", "-c", "cat /o/f; echo new > /o/n; echo mod >> /o/f; cat /o/f /o/n; cat /proc/self/mountinfo")...)
		mustCode(t, r, 0)
		if !strings.HasPrefix(r.stdout, "low\nlow\nmod\nnew\n") {
			t.Errorf("contents through the overlay:\n%s", r)
		}
		if ml := mountLine(r.stdout, "/o"); !strings.Contains(ml, " - overlay ") {
			t.Errorf("/o is not an overlay mount: %q", ml)
		}
		if got := readHostFile(t, filepath.Join(up, "n")); got != "new\n" {
			t.Errorf("new file in RWSRC on the host: %q, want \"new\\n\"", got)
		}
		if got := readHostFile(t, filepath.Join(up, "f")); got != "low\nmod\n" {
			t.Errorf("copied-up file in RWSRC on the host: %q", got)
		}
		if got := listTree(t, lower); strings.Join(got, "|") != "f=low\n|keep=keep\n" {
			t.Errorf("the lower layer changed on the host: %q", got)
		}
	})

	t.Run("tmp-overlay writes stay inside", func(t *testing.T) {
		d := workDir(t)
		lower := filepath.Join(d, "lower")
		makeTree(t, lower, map[string]string{"f": "low\n"})
		before := listTree(t, d)
		r := runWith(t, runOpts{dir: d}, bwrapBin, bwrapRoot("--overlay-src", lower, "--tmp-overlay", "/o",
			"sh", "-c", "echo new > /o/n && echo mod >> /o/f && mkdir /o/d && cat /o/f /o/n && ls /o")...)
		mustCode(t, r, 0)
		if r.stdout != "low\nmod\nnew\nd\nf\nn\n" {
			t.Errorf("inside the --tmp-overlay:\n%s", r)
		}
		if after := listTree(t, d); strings.Join(after, "|") != strings.Join(before, "|") {
			t.Errorf("--tmp-overlay wrote to the host:\nbefore %q\nafter  %q", before, after)
		}
	})

	t.Run("two tmp-overlays are independent", func(t *testing.T) {
		d := workDir(t)
		a, b := filepath.Join(d, "a"), filepath.Join(d, "b")
		makeTree(t, a, map[string]string{"fa": "a\n"})
		makeTree(t, b, map[string]string{"fb": "b\n"})
		r := runWith(t, runOpts{dir: d}, bwrapBin, bwrapRoot("--overlay-src", a, "--tmp-overlay", "/o1", "--overlay-src", b, "--tmp-overlay", "/o2",
			"sh", "-c", "echo 1 > /o1/n; echo 2 > /o2/n; ls /o1 /o2; cat /o1/n /o2/n")...)
		mustCode(t, r, 0)
		if r.stdout != "/o1:\nfa\nn\n\n/o2:\nfb\nn\n1\n2\n" {
			t.Errorf("two --tmp-overlay mounts:\n%s", r)
		}
	})

	t.Run("ro-overlay is read-only, last source on top", func(t *testing.T) {
		d := workDir(t)
		a, b := filepath.Join(d, "a"), filepath.Join(d, "b")
		makeTree(t, a, map[string]string{"f": "A\n", "onlyA": "a\n"})
		makeTree(t, b, map[string]string{"f": "B\n", "onlyB": "b\n"})
		before := listTree(t, d)
		r := runWith(t, runOpts{dir: d}, bwrapBin, bwrapRoot("--overlay-src", a, "--overlay-src", b, "--ro-overlay", "/o",
			"sh", "-c", "ls /o; cat /o/f; touch /o/x")...)
		if r.code == 0 || !strings.Contains(r.stderr, "Read-only file system") {
			t.Errorf("write to --ro-overlay: want EROFS, got %s", r)
		}
		if r.stdout != "f\nonlyA\nonlyB\nB\n" {
			t.Errorf("--ro-overlay contents (the last --overlay-src is the top layer):\n%s", r)
		}
		if after := listTree(t, d); strings.Join(after, "|") != strings.Join(before, "|") {
			t.Errorf("the host changed:\nbefore %q\nafter  %q", before, after)
		}
	})

	t.Run("sandbox personality", func(t *testing.T) {
		d := workDir(t)
		lower := filepath.Join(d, "lower")
		makeTree(t, lower, map[string]string{"f": "low\n"})
		r := runWith(t, runOpts{dir: d}, sandboxBin, "--ro-bind", "/usr", "--overlay-src", lower, "--tmp-overlay", "/o",
			"--", "sh", "-c", "echo mod >> /o/f && cat /o/f")
		mustCode(t, r, 0)
		if r.stdout != "low\nmod\n" || readHostFile(t, filepath.Join(lower, "f")) != "low\n" {
			t.Errorf("sandbox --tmp-overlay:\n%s", r)
		}
	})
}

// TestFSOverlayMisuse: bubblewrap 0.11's exact messages for overlay misuse.
func TestFSOverlayMisuse(t *testing.T) {
	d := workDir(t)
	src := filepath.Join(d, "src")
	os.Mkdir(src, 0o755)
	const pending = "bwrap: --overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay\n"
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"overlay without source", bwrapRoot("--overlay", src, src, "/o", "true"), "bwrap: --overlay requires at least one --overlay-src\n"},
		{"tmp-overlay without source", bwrapRoot("--tmp-overlay", "/o", "true"), "bwrap: --tmp-overlay requires at least one --overlay-src\n"},
		{"ro-overlay with one source", bwrapRoot("--overlay-src", src, "--ro-overlay", "/o", "true"), "bwrap: --ro-overlay requires at least two --overlay-src\n"},
		{"source then another option", bwrapRoot("--overlay-src", src, "--dir", "/d", "true"), pending},
		{"source then the command", bwrapRoot("--overlay-src", src, "true"), pending},
		{"source then --", bwrapRoot("--overlay-src", src, "--", "true"), pending},
		{"trailing --overlay-src", []string{"--overlay-src"}, pending},
		{"perms before overlay-src", bwrapRoot("--perms", "0755", "--overlay-src", src, "--tmp-overlay", "/o", "true"), "bwrap: --perms must be followed by an option that creates a file\n"},
		{"missing source path", bwrapRoot("--overlay-src", "/nonexistent", "--tmp-overlay", "/o", "true"), "bwrap: Can't find source path /nonexistent: No such file or directory\n"},
		{"missing rw source", bwrapRoot("--overlay-src", src, "--overlay", "/nonexistent", src, "/o", "true"), "bwrap: Can't find source path /nonexistent: No such file or directory\n"},
		{"overlay missing arguments", []string{"--overlay", "a", "b"}, "bwrap: --overlay takes three arguments\n"},
		{"tmp-overlay missing argument", []string{"--tmp-overlay"}, "bwrap: --tmp-overlay takes an argument\n"},
		{"ro-overlay missing argument", []string{"--ro-overlay"}, "bwrap: --ro-overlay takes an argument\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runWith(t, runOpts{dir: d}, bwrapBin, c.args...)
			if r.code != 1 || r.stderr != c.want || r.stdout != "" {
				t.Errorf("bwrap %q:\n%s\nwant exit 1 and stderr %q", c.args, r, c.want)
			}
		})
	}
	t.Run("sandbox personality", func(t *testing.T) {
		r := runWith(t, runOpts{dir: d}, sandboxBin, "--ro-bind", "/usr", "--tmp-overlay", "/o", "--", "true")
		mustCode(t, r, 125)
		if !strings.Contains(r.stderr, "--tmp-overlay") || !strings.Contains(r.stderr, "--overlay-src") {
			t.Errorf("message does not name both options: %s", r)
		}
	})
}

// TestFSBindFD: --bind-fd and --ro-bind-fd mount what an open directory or
// O_PATH descriptor refers to, and the descriptor does not reach the program.
func TestFSBindFD(t *testing.T) {
	requireUser(t)
	script := func(dest string) string {
		return "ls " + dest + "; echo new > " + dest + "/n && echo wrote; [ -e /proc/self/fd/3 ] && echo fd-leaked || echo fd-closed"
	}
	for _, c := range []struct {
		name     string
		bin      string
		flag     string
		oPath    bool
		wantOut  string
		wantHost string
	}{
		{"bind-fd directory fd", bwrapBin, "--bind-fd", false, "f\nwrote\nfd-closed\n", "new\n"},
		{"bind-fd O_PATH fd", bwrapBin, "--bind-fd", true, "f\nwrote\nfd-closed\n", "new\n"},
		{"ro-bind-fd directory fd", bwrapBin, "--ro-bind-fd", false, "f\nfd-closed\n", ""},
		{"ro-bind-fd O_PATH fd", bwrapBin, "--ro-bind-fd", true, "f\nfd-closed\n", ""},
		{"sandbox bind-fd O_PATH fd", sandboxBin, "--bind-fd", true, "f\nwrote\nfd-closed\n", "new\n"},
		{"sandbox ro-bind-fd directory fd", sandboxBin, "--ro-bind-fd", false, "f\nfd-closed\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := workDir(t)
			makeTree(t, d, map[string]string{"f": "f\n"})
			fh, err := openFD(d, c.oPath)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			args := bwrapRoot(c.flag, "3", "/b/c", "sh", "-c", script("/b/c"))
			if c.bin == sandboxBin {
				args = []string{"--ro-bind", "/usr", c.flag, "3", "/b/c", "--", "sh", "-c", script("/b/c")}
			}
			r := runWith(t, runOpts{dir: workDir(t), files: []*os.File{fh}}, c.bin, args...)
			if r.stdout != c.wantOut {
				t.Errorf("%s: stdout %q, want %q\n%s", c.flag, r.stdout, c.wantOut, r)
			}
			got, err := os.ReadFile(filepath.Join(d, "n"))
			if c.wantHost == "" {
				if err == nil {
					t.Errorf("%s: the write reached the host", c.flag)
				}
				if !strings.Contains(r.stderr, "Read-only file system") {
					t.Errorf("%s: write not refused with EROFS:\n%s", c.flag, r)
				}
			} else if string(got) != c.wantHost {
				t.Errorf("%s: host sees %q, want %q", c.flag, got, c.wantHost)
			}
		})
	}
}

func TestFSArgv0(t *testing.T) {
	cases := []struct {
		name   string
		bin    string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"cmdline", bwrapBin, bwrapRoot("--argv0", "foo", "cat", "/proc/self/cmdline"), 0, "foo\x00/proc/self/cmdline\x00", ""},
		{"shell $0", bwrapBin, bwrapRoot("--argv0", "foo", "sh", "-c", "echo $0"), 0, "foo\n", ""},
		{"exec failure names the command", bwrapBin, bwrapRoot("--argv0", "foo", "no-such-command-xyz"), 1, "", "bwrap: execvp no-such-command-xyz: No such file or directory\n"},
		{"twice", bwrapBin, bwrapRoot("--argv0", "a", "--argv0", "b", "true"), 1, "", "bwrap: --argv0 used multiple times\n"},
		{"missing", bwrapBin, []string{"--argv0"}, 1, "", "bwrap: --argv0 takes one argument\n"},
		{"sandbox cmdline", sandboxBin, []string{"--ro-bind", "/usr", "--argv0", "foo", "--", "cat", "/proc/self/cmdline"}, 0, "foo\x00/proc/self/cmdline\x00", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runWith(t, runOpts{dir: workDir(t)}, c.bin, c.args...)
			if r.code != c.code || r.stdout != c.stdout || r.stderr != c.stderr {
				t.Errorf("%q:\n%s\nwant exit %d, stdout %q, stderr %q", c.args, r, c.code, c.stdout, c.stderr)
			}
		})
	}
}

// TestFSLevelPrefix: from --level-prefix on, every error is "<3>bwrap: " and
// every warning "<4>bwrap: "; usage text is not prefixed.
func TestFSLevelPrefix(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"unknown option", []string{"--level-prefix", "--bogus"}, 1, "<3>bwrap: Unknown option --bogus\n"},
		{"error before the option", []string{"--bogus", "--level-prefix"}, 1, "bwrap: Unknown option --bogus\n"},
		{"missing argument", []string{"--level-prefix", "--bind", "/a"}, 1, "<3>bwrap: --bind takes two arguments\n"},
		{"validation", bwrapRoot("--level-prefix", "--hostname", "x", "true"), 1, "<3>bwrap: Specifying --hostname requires --unshare-uts\n"},
		{"missing source", bwrapRoot("--level-prefix", "--ro-bind", "/nonexistent", "/x", "true"), 1, "<3>bwrap: Can't find source path /nonexistent: No such file or directory\n"},
		{"setup failure inside", bwrapRoot("--level-prefix", "--chdir", "/nope", "true"), 1, "<3>bwrap: Can't chdir to /nope: No such file or directory\n"},
		{"exec failure", bwrapRoot("--level-prefix", "no-such-command-xyz"), 1, "<3>bwrap: execvp no-such-command-xyz: No such file or directory\n"},
		{"warning", bwrapRoot("--level-prefix", "--chdir", "/", "--chdir", "/usr", "true"), 0, "<4>bwrap: Only the last --chdir option will take effect\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runWith(t, runOpts{dir: workDir(t)}, bwrapBin, c.args...)
			if r.code != c.code || r.stderr != c.stderr {
				t.Errorf("%q:\n%s\nwant exit %d, stderr %q", c.args, r, c.code, c.stderr)
			}
		})
	}
	t.Run("usage not prefixed", func(t *testing.T) {
		r := bw(t, "--level-prefix", "--ro-bind", "/usr", "/usr")
		if r.code != 1 || !strings.HasPrefix(r.stderr, "usage: ") {
			t.Errorf("usage after --level-prefix:\n%s", r)
		}
	})
}

// hostMergedUsr returns the host's top-level symlinks into /usr.
func hostMergedUsr() map[string]string {
	m := map[string]string{}
	for _, top := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		if l, err := os.Readlink(top); err == nil && strings.HasPrefix(strings.TrimPrefix(l, "/"), "usr/") {
			m[top] = l
		}
	}
	return m
}

func TestFSSandboxDefaults(t *testing.T) {
	requireUser(t)
	merged := hostMergedUsr()

	t.Run("root listing", func(t *testing.T) {
		r := runWith(t, runOpts{dir: workDir(t)}, sandboxBin, "--ro-bind", "/usr", "--", "ls", "/")
		mustCode(t, r, 0)
		got := strings.Fields(r.stdout)
		want := []string{"dev", "proc", "tmp", "usr"}
		for top := range merged {
			want = append(want, strings.TrimPrefix(top, "/"))
		}
		sort.Strings(want)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("ls / = %q, want %q", got, want)
		}
	})

	t.Run("merged-usr symlinks", func(t *testing.T) {
		requireHost(t, len(merged) > 0, "the host has no merged /usr (/bin is not a symlink into /usr)")
		var script, want strings.Builder
		for top, l := range merged {
			script.WriteString("echo " + top + " $(readlink " + top + "); ")
			want.WriteString(top + " " + l + "\n")
		}
		r := runWith(t, runOpts{dir: workDir(t)}, sandboxBin, "--ro-bind", "/usr", "--", "sh", "-c", script.String())
		mustCode(t, r, 0)
		if r.stdout != want.String() {
			t.Errorf("links:\n%s\nwant:\n%s", r.stdout, want.String())
		}
	})

	t.Run("cwd bound read-only", func(t *testing.T) {
		d := workDir(t)
		r := runWith(t, runOpts{dir: d}, sandboxBin, "--ro-bind", "/usr", "--", "sh", "-c", "pwd; echo $PWD; cat /proc/self/mountinfo; echo x > f")
		if r.code == 0 || !strings.Contains(r.stderr, "Read-only file system") {
			t.Errorf("write into the working directory: want EROFS, got %s", r)
		}
		if !strings.HasPrefix(r.stdout, d+"\n"+d+"\n") {
			t.Errorf("working directory inside: %q, want %s", strings.SplitN(r.stdout, "\n", 3)[:2], d)
		}
		if ml := mountLine(r.stdout, d); !regexp.MustCompile(`\sro,nosuid,nodev[\s,]`).MatchString(ml) {
			t.Errorf("the working directory's mount is %q, want ro,nosuid,nodev", ml)
		}
		if _, err := os.Stat(filepath.Join(d, "f")); err == nil {
			t.Error("the write reached the host")
		}
	})

	t.Run("no-defaults", func(t *testing.T) {
		d := workDir(t)
		args := []string{"--no-defaults", "--ro-bind", "/usr", "/usr"}
		want := []string{".", "..", "usr"}
		for top, l := range merged {
			if strings.HasPrefix(top, "/lib") {
				args = append(args, "--symlink", l, top)
				want = append(want, strings.TrimPrefix(top, "/"))
			}
		}
		sort.Strings(want)
		r := runWith(t, runOpts{dir: d}, sandboxBin, concat(args, []string{"--", "/usr/bin/ls", "-a", "/"})...)
		mustCode(t, r, 0)
		if got := strings.Fields(r.stdout); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("--no-defaults: ls -a / = %q, want %q", got, want)
		}
		r = runWith(t, runOpts{dir: d, env: []string{"PATH=/usr/bin", "HOME=/nonexistent"}}, sandboxBin,
			concat(args, []string{"--", "/usr/bin/sh", "-c", "pwd; for p in /proc/self /dev/null /tmp; do [ -e $p ] && echo $p; done; echo end"})...)
		mustCode(t, r, 0)
		if r.stdout != "/\nend\n" {
			t.Errorf("--no-defaults: want cwd / and no /proc, /dev or /tmp, got %s", r)
		}
	})

	t.Run("single-argument binds", func(t *testing.T) {
		w := workDir(t)
		r := runWith(t, runOpts{dir: workDir(t)}, sandboxBin, "--ro-bind", "/usr", "--bind", w, "--ro-bind-try", "/nonexistent",
			"--ro-bind", "/usr/share", "/data", "--", "sh", "-c", "echo hi > "+w+"/out && echo wrote; [ -e /nonexistent ] || echo skipped; [ -d /data/doc ] && echo data")
		mustCode(t, r, 0)
		if r.stdout != "wrote\nskipped\ndata\n" {
			t.Errorf("single-argument binds:\n%s", r)
		}
		if got := readHostFile(t, filepath.Join(w, "out")); got != "hi\n" {
			t.Errorf("--bind %s: host sees %q", w, got)
		}
		r = runWith(t, runOpts{dir: workDir(t)}, sandboxBin, "--ro-bind", "/usr", "--ro-bind", w, "--", "sh", "-c", "echo x > "+w+"/ro")
		if r.code == 0 || !strings.Contains(r.stderr, "Read-only file system") {
			t.Errorf("--ro-bind %s: want EROFS, got %s", w, r)
		}
	})
}

func TestFSTmpfsSizeUnits(t *testing.T) {
	for _, c := range []struct{ size, want string }{
		{"1M", "size=1024k"},
		{"64k", "size=64k"},
		{"64K", "size=64k"},
		{"2MiB", "size=2048k"},
		{"1G", "size=1048576k"},
		{"8192", "size=8k"},
	} {
		t.Run(c.size, func(t *testing.T) {
			r := runWith(t, runOpts{dir: workDir(t)}, sandboxBin, "--ro-bind", "/usr", "--perms", "0700", "--size", c.size, "--tmpfs", "/t",
				"--", "cat", "/proc/self/mountinfo")
			mustCode(t, r, 0)
			ml := mountLine(r.stdout, "/t")
			if !strings.Contains(ml, " - tmpfs ") || !strings.Contains(ml, ","+c.want+",") || !strings.Contains(ml, ",mode=700,") {
				t.Errorf("--size %s: /t is %q, want tmpfs with %s,mode=700", c.size, ml, c.want)
			}
		})
	}
	for _, bad := range [][]string{
		{"--size", "1X", "--tmpfs", "/t"},
		{"--size", "0", "--tmpfs", "/t"},
		{"--size", "1.5M", "--tmpfs", "/t"},
		{"--size", "-1", "--tmpfs", "/t"},
		{"--size", "1M", "--dir", "/t"},
		{"--size", "1M"},
	} {
		r := runWith(t, runOpts{dir: workDir(t)}, sandboxBin, concat([]string{"--ro-bind", "/usr"}, bad, []string{"--", "true"})...)
		if r.code != 125 || !strings.Contains(r.stderr, "--size") {
			t.Errorf("%q: want exit 125 naming --size, got %s", bad, r)
		}
	}
	// Writing more than the size fails inside.
	r := runWith(t, runOpts{dir: workDir(t)}, sandboxBin, "--ro-bind", "/usr", "--size", "64k", "--tmpfs", "/t",
		"--", "sh", "-c", "head -c 1048576 /dev/zero > /t/f")
	if r.code == 0 || !strings.Contains(r.stderr, "No space left on device") {
		t.Errorf("1MiB into a 64k tmpfs: want ENOSPC, got %s", r)
	}
}

// TestFSSymlinkInsideRoot: an absolute symlink made with --symlink is
// resolved inside the sandbox's root when later ops go through it; nothing
// ever lands on the host path the link names.
func TestFSSymlinkInsideRoot(t *testing.T) {
	requireUser(t)
	src := workDir(t)
	makeTree(t, src, map[string]string{"marker": "m\n"})

	t.Run("--symlink /opt/real /link, --bind SRC /link/x", func(t *testing.T) {
		r := runWith(t, runOpts{dir: workDir(t)}, sandboxBin, "--ro-bind", "/usr", "--dir", "/opt/real", "--symlink", "/opt/real", "/link",
			"--bind", src, "/link/x", "--", "sh", "-c", "cat /opt/real/x/marker; cat /proc/self/mountinfo")
		mustCode(t, r, 0)
		if !strings.HasPrefix(r.stdout, "m\n") || mountLine(r.stdout, "/opt/real/x") == "" {
			t.Errorf("want SRC mounted at /opt/real/x:\n%s", r)
		}
	})

	// The link names a directory that exists on the host; it must not be
	// written to, whether the sandbox made the same path inside or not.
	hostDir := workDir(t)
	cat := []string{"sh", "-c", "cat " + hostDir + "/x/marker"}
	for _, c := range []struct {
		name string
		bin  string
		args []string
		// must: the target exists inside, so SRC must be mounted below it.
		// Otherwise failing is fine, but success must still show SRC there.
		must bool
	}{
		{"sandbox, target made inside", sandboxBin, concat([]string{"--ro-bind", "/usr", "--dir", hostDir, "--symlink", hostDir, "/link", "--bind", src, "/link/x", "--"}, cat), true},
		{"sandbox, target missing inside", sandboxBin, concat([]string{"--ro-bind", "/usr", "--symlink", hostDir, "/link", "--bind", src, "/link/x", "--"}, cat), false},
		{"bwrap, target made inside", bwrapBin, bwrapRoot(concat([]string{"--dir", hostDir, "--symlink", hostDir, "/link", "--bind", src, "/link/x"}, cat)...), true},
		{"bwrap, target missing inside", bwrapBin, bwrapRoot(concat([]string{"--symlink", hostDir, "/link", "--bind", src, "/link/x"}, cat)...), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runWith(t, runOpts{dir: workDir(t)}, c.bin, c.args...)
			if (c.must || r.code == 0) && r.stdout != "m\n" {
				t.Errorf("want SRC mounted at %s/x inside:\n%s", hostDir, r)
			}
			if got := listTree(t, hostDir); len(got) != 0 {
				t.Errorf("the host directory the symlink names was written to: %q\n%s", got, r)
			}
		})
	}
	t.Run("relative link climbing out", func(t *testing.T) {
		r := runWith(t, runOpts{dir: workDir(t)}, sandboxBin, "--ro-bind", "/usr", "--symlink", "../../../../../../../.."+hostDir, "/a/link",
			"--dir", "/a/link/made", "--", "true")
		if got := listTree(t, hostDir); len(got) != 0 {
			t.Errorf("a relative symlink led a --dir out of the sandbox root: %q\n%s", got, r)
		}
	})
}

func TestFSIDMap(t *testing.T) {
	requireUser(t)
	lines := func(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }

	r := sb(t, "--id-map", "single", "--ro-bind", "/usr", "--", "sh", "-c", "cat /proc/self/uid_map; echo; cat /proc/self/gid_map")
	mustCode(t, r, 0)
	parts := strings.SplitN(r.stdout, "\n\n", 2)
	if len(parts) != 2 || len(lines(parts[0])) != 1 || len(lines(parts[1])) != 1 {
		t.Fatalf("--id-map single: want one line in uid_map and gid_map:\n%s", r)
	}
	uid := strings.Fields(parts[0])
	if len(uid) != 3 || uid[1] != uid[0] || uid[2] != "1" {
		t.Errorf("--id-map single: uid_map %q, want own uid mapped to itself, count 1", parts[0])
	}

	requireHost(t, subRanges(t), "the user has no subordinate ranges in /etc/subuid")
	r = sb(t, "--id-map", "range", "--ro-bind", "/usr", "--", "sh", "-c", "cat /proc/self/uid_map; echo; cat /proc/self/gid_map; echo; id -u")
	mustCode(t, r, 0)
	parts = strings.Split(r.stdout, "\n\n")
	if len(parts) != 3 || len(lines(parts[0])) < 2 || len(lines(parts[1])) < 2 {
		t.Fatalf("--id-map range: want several lines in uid_map and gid_map:\n%s", r)
	}
	if strings.TrimSpace(parts[2]) != strconv.Itoa(os.Getuid()) {
		t.Errorf("--id-map range: id -u is %q, want %d", parts[2], os.Getuid())
	}
	r = sb(t, "--id-map", "range", "--uid", "0", "--gid", "0", "--ro-bind", "/usr", "--", "sh", "-c", "id -u; id -g; wc -l < /proc/self/uid_map")
	mustCode(t, r, 0)
	if f := strings.Fields(r.stdout); len(f) != 3 || f[0] != "0" || f[1] != "0" || f[2] == "1" {
		t.Errorf("--id-map range --uid 0: %s", r)
	}
}
