package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// realBwrap is the reference implementation: Debian's bubblewrap 0.8.0.
// The tests below run every command line with it and with our bwrap and
// compare what a caller sees. Where 0.8.0 and 0.11 differ (see the facts
// file, §7) the 0.11 behaviour is asserted on ours alone.
const realBwrap = "/usr/bin/bwrap"

func requireRealBwrap(t *testing.T) {
	t.Helper()
	_, err := os.Stat(realBwrap)
	requireHost(t, err == nil, realBwrap+" (bubblewrap, the reference) is not installed")
}

// fdSpec is one extra file descriptor (3, 4, ...) handed to the sandbox.
type fdSpec struct {
	in  string // a file holding this data, open for reading
	out bool   // an empty file open for writing; its content is compared
}

// compatCase is one bwrap command line run with both implementations.
// In args, env and dir, "@W" is a fresh empty directory per run and "@FX"
// the shared fixture directory (see compatFixture); both are mapped back to
// their placeholders in the output.
type compatCase struct {
	name string
	args []string
	dir  string   // working directory; default @FX (not visible inside)
	env  []string // added to the base environment
	fds  []fdSpec
	// numbers replaces every digit run with N (pids, inode numbers).
	numbers bool
	// host, if set, reports host-side state after the run (e.g. files the
	// sandbox wrote through a bind); it is compared too.
	host func(w string) string
}

// compatFixture builds the read-only fixture tree shared by all cases:
//
//	dir/a        "a\n", 0644
//	file         "data\n", 0640
//	exe          "#!/bin/sh\necho script\n", 0755
//	link -> file
func compatFixture(t *testing.T) string {
	fx := workDir(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(fx, "dir"), 0o755))
	must(os.WriteFile(filepath.Join(fx, "dir", "a"), []byte("a\n"), 0o644))
	must(os.WriteFile(filepath.Join(fx, "file"), []byte("data\n"), 0o640))
	must(os.Chmod(filepath.Join(fx, "file"), 0o640))
	must(os.WriteFile(filepath.Join(fx, "exe"), []byte("#!/bin/sh\necho script\n"), 0o755))
	must(os.Symlink("file", filepath.Join(fx, "link")))
	return fx
}

// shFuncs are shell helpers the case scripts use.
//
//	mi P     one line per mount at or below P: mountpoint, mount options,
//	         fs type, super options (no ids, no propagation fields)
//	modes P… name, octal mode and type of each path
const shFuncs = `mi() { d=$1; while read -r _ _ _ _ mp opts rest; do case $mp in "$d"|"$d"/*) ;; *) continue;; esac; set -- $rest; while [ "$1" != - ]; do shift; done; echo "$mp $opts $2 $4"; done < /proc/self/mountinfo; }
modes() { stat -c '%n %a %F' "$@"; }
`

func sh(script string) []string { return []string{"sh", "-c", shFuncs + script} }

// nsScript prints, for each namespace type, whether the payload shares it
// with the host ($HOSTNS holds the host's /proc/self/ns links).
const nsScript = `for n in cgroup ipc mnt net pid user uts; do l=$(readlink /proc/self/ns/$n); case " $HOSTNS " in *" $l "*) echo $n same;; *) echo $n different;; esac; done`

func hostNamespaces(t *testing.T) string {
	var links []string
	for _, n := range []string{"cgroup", "ipc", "mnt", "net", "pid", "user", "uts"} {
		l, err := os.Readlink("/proc/self/ns/" + n)
		if err != nil {
			t.Fatalf("host namespace: %v", err)
		}
		links = append(links, l)
	}
	return strings.Join(links, " ")
}

func hostSession(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	return f[3] // state ppid pgrp session
}

var (
	digitsRE = regexp.MustCompile(`[0-9]+`)
	// lines of --help that only 0.11 has
	helpOnly011RE = regexp.MustCompile(`(?m)^    --(argv0|level-prefix|overlay-src|overlay|tmp-overlay|ro-overlay) .*\n(^ {33}\S.*\n)?`)
)

// normalise removes what legitimately differs between the two runs.
func normalise(s, bin, w, fx string, numbers bool) string {
	s = strings.ReplaceAll(s, bin, "bwrap")
	if w != "" {
		s = strings.ReplaceAll(s, w, "@W")
	}
	s = strings.ReplaceAll(s, fx, "@FX")
	s = regexp.MustCompile(`bubblewrap 0\.[0-9]+\.[0-9]+`).ReplaceAllString(s, "bubblewrap VERSION")
	s = helpOnly011RE.ReplaceAllString(s, "")
	if numbers {
		s = digitsRE.ReplaceAllString(s, "N")
	}
	return s
}

// runCompat runs one case with bin and returns the normalised result, with
// the content of output fds and the host report appended to stdout.
func runCompat(t *testing.T, c compatCase, bin, fx string) result {
	t.Helper()
	w := workDir(t)
	sub := func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, "@W", w), "@FX", fx)
	}
	var args []string
	for _, a := range c.args {
		args = append(args, sub(a))
	}
	env := []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent-home", "HOSTNS=" + hostNamespaces(t), "HOSTSID=" + hostSession(t)}
	for _, e := range c.env {
		env = append(env, sub(e))
	}
	dir := fx
	if c.dir != "" {
		dir = sub(c.dir)
	}
	fdDir := t.TempDir()
	var files []*os.File
	var outs []string
	for i, f := range c.fds {
		p := filepath.Join(fdDir, fmt.Sprint("fd", i+3))
		var fh *os.File
		var err error
		if f.out {
			fh, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			outs = append(outs, p)
		} else {
			if err = os.WriteFile(p, []byte(f.in), 0o600); err == nil {
				fh, err = os.Open(p)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		files = append(files, fh)
	}
	r := runWith(t, runOpts{dir: dir, env: env, files: files}, bin, args...)
	for _, p := range outs {
		b, _ := os.ReadFile(p)
		r.stdout += fmt.Sprintf("--- %s ---\n%s", filepath.Base(p), b)
	}
	if c.host != nil {
		r.stdout += "--- host ---\n" + c.host(w)
	}
	r.stdout = normalise(r.stdout, bin, w, fx, c.numbers)
	r.stderr = normalise(r.stderr, bin, w, fx, c.numbers)
	return r
}

func checkCompat(t *testing.T, c compatCase, fx string) {
	t.Helper()
	want := runCompat(t, c, realBwrap, fx)
	got := runCompat(t, c, bwrapBin, fx)
	if got != want {
		t.Errorf("bwrap %q differs from bubblewrap\n--- bubblewrap (reference) ---\n%s\n--- ours ---\n%s", c.args, want, got)
	}
}

// base is a root with /usr, the merged-/usr links and the host's /proc.
func base() []string { return concat(usrArgs(), []string{"--proc", "/proc"}) }

// a builds a command line: base root, then the given options and command.
func a(parts ...string) []string { return concat(base(), parts) }

// withSh builds a command line: base root, options, then sh -c script.
func withSh(opts []string, script string) []string { return concat(base(), opts, sh(script)) }

func o(s ...string) []string { return s }

func readHost(rel string) func(string) string {
	return func(w string) string {
		b, err := os.ReadFile(filepath.Join(w, rel))
		if err != nil {
			return "missing " + rel + "\n"
		}
		return string(b)
	}
}

func compatCases() []compatCase {
	capsScript := "grep ^Cap /proc/self/status"
	return []compatCase{
		// --- command line basics ---
		{name: "no arguments", args: nil},
		{name: "version", args: o("--version")},
		{name: "version then unknown", args: o("--version", "--foo")},
		{name: "unknown then version", args: o("--foo", "--version")},
		{name: "no command", args: o("--ro-bind", "/", "/")},
		{name: "no command after --", args: o("--ro-bind", "/", "/", "--")},
		{name: "help", args: o("--help")},
		{name: "unknown option", args: a("--no-such-option", "true")},
		{name: "unknown short option", args: a("-x", "true")},
		{name: "dash alone", args: a("-", "true")},
		{name: "option=value form", args: a("--chdir=/usr", "true")},
		{name: "double dash then option-like command", args: a("--", "--dev-bind", "/dev", "/dev", "true")},
		{name: "empty command", args: a("")},
		{name: "options after command are arguments", args: a("echo", "--bind", "/a", "/b")},
		{name: "exit status", args: a("sh", "-c", "exit 7")},
		{name: "killed by signal", args: a("sh", "-c", "kill -9 $$")},
		{name: "killed by signal in pid ns", args: a("--unshare-pid", "sh", "-c", "kill -9 $$")},
		{name: "execvp not found", args: a("no-such-command-xyz")},
		{name: "execvp directory", args: a("/")},
		{name: "execvp not executable", args: a("--ro-bind", "@FX/file", "/f", "/f")},
		{name: "execvp script", args: a("--ro-bind", "@FX/exe", "/x", "/x")},

		// --- missing option arguments ---
		{name: "missing --bind", args: o("--bind", "/a")},
		{name: "missing --ro-bind", args: o("--ro-bind")},
		{name: "missing --dev-bind-try", args: o("--dev-bind-try", "/a")},
		{name: "missing --ro-bind-fd", args: o("--ro-bind-fd", "3")},
		{name: "missing --bind-fd", args: o("--bind-fd")},
		{name: "missing --remount-ro", args: o("--remount-ro")},
		{name: "missing --chdir", args: o("--chdir")},
		{name: "missing --setenv", args: o("--setenv", "A")},
		{name: "missing --unsetenv", args: o("--unsetenv")},
		{name: "missing --uid", args: o("--uid")},
		{name: "missing --gid", args: o("--gid")},
		{name: "missing --hostname", args: o("--hostname")},
		{name: "missing --tmpfs", args: o("--tmpfs")},
		{name: "missing --dir", args: o("--dir")},
		{name: "missing --file", args: o("--file", "3")},
		{name: "missing --bind-data", args: o("--bind-data", "3")},
		{name: "missing --ro-bind-data", args: o("--ro-bind-data")},
		{name: "missing --symlink", args: o("--symlink", "x")},
		{name: "missing --chmod", args: o("--chmod", "0755")},
		{name: "missing --perms", args: o("--perms")},
		{name: "missing --size", args: o("--size")},
		{name: "missing --proc", args: o("--proc")},
		{name: "missing --dev", args: o("--dev")},
		{name: "missing --mqueue", args: o("--mqueue")},
		{name: "missing --lock-file", args: o("--lock-file")},
		{name: "missing --sync-fd", args: o("--sync-fd")},
		{name: "missing --block-fd", args: o("--block-fd")},
		{name: "missing --info-fd", args: o("--info-fd")},
		{name: "missing --json-status-fd", args: o("--json-status-fd")},
		{name: "missing --args", args: o("--args")},
		{name: "missing --cap-add", args: o("--cap-add")},
		{name: "missing --cap-drop", args: o("--cap-drop")},
		{name: "missing --exec-label", args: o("--exec-label")},
		{name: "argument consumed even if option-like", args: a("--chdir", "--foo", "true")},

		// --- numbers ---
		{name: "invalid fd letters", args: a("--info-fd", "x", "true")},
		{name: "invalid fd empty", args: a("--info-fd", "", "true")},
		{name: "invalid fd negative", args: a("--info-fd", "-1", "true")},
		{name: "invalid fd trailing junk", args: a("--info-fd", "3x", "true")},
		{name: "fd with leading space", args: a("--info-fd", " 3", "true"), fds: []fdSpec{{out: true}}, numbers: true},
		{name: "fd with plus", args: a("--info-fd", "+3", "true"), fds: []fdSpec{{out: true}}, numbers: true},
		{name: "invalid uid", args: a("--uid", "x", "true")},
		{name: "invalid gid", args: a("--gid", "-1", "true")},
		{name: "perms not octal", args: a("--perms", "999", "--dir", "/d", "true")},
		{name: "perms too large", args: a("--perms", "10000", "--dir", "/d", "true")},
		{name: "perms empty", args: a("--perms", "", "--dir", "/d", "true")},
		{name: "perms not followed by a creating option", args: a("--perms", "0755", "--ro-bind", "/usr", "/u", "true")},
		{name: "perms before chmod", args: a("--perms", "0755", "--chmod", "0755", "/usr", "true")},
		{name: "perms twice", args: a("--perms", "0700", "--perms", "0700", "--dir", "/d", "true")},
		{name: "perms pending at the command", args: a("--perms", "0700", "true")},
		{name: "size zero", args: a("--size", "0", "--tmpfs", "/t", "true")},
		{name: "size with unit", args: a("--size", "1M", "--tmpfs", "/t", "true")},
		{name: "size negative", args: a("--size", "-1", "--tmpfs", "/t", "true")},
		{name: "size out of range", args: a("--size", "99999999999999999999", "--tmpfs", "/t", "true")},
		{name: "size over the limit", args: a("--size", "9223372036854775808", "--tmpfs", "/t", "true")},
		{name: "size not followed by tmpfs", args: a("--size", "4096", "--dir", "/d", "true")},
		{name: "size twice", args: a("--size", "4096", "--size", "4096", "--tmpfs", "/t", "true")},
		{name: "chmod not octal", args: a("--dir", "/d", "--chmod", "8", "/d", "true")},
		{name: "unknown cap", args: a("--cap-add", "kill", "true")},

		// --- namespaces ---
		{name: "ns default", args: withSh(nil, nsScript)},
		{name: "ns --unshare-net", args: withSh(o("--unshare-net"), nsScript)},
		{name: "ns --unshare-ipc", args: withSh(o("--unshare-ipc"), nsScript)},
		{name: "ns --unshare-uts", args: withSh(o("--unshare-uts"), nsScript)},
		{name: "ns --unshare-pid", args: withSh(o("--unshare-pid"), nsScript)},
		{name: "ns --unshare-cgroup", args: withSh(o("--unshare-cgroup"), nsScript)},
		{name: "ns --unshare-cgroup-try", args: withSh(o("--unshare-cgroup-try"), nsScript)},
		{name: "ns --unshare-user", args: withSh(o("--unshare-user"), nsScript)},
		{name: "ns --unshare-user-try", args: withSh(o("--unshare-user-try"), nsScript)},
		{name: "ns --unshare-all", args: withSh(o("--unshare-all"), nsScript)},
		{name: "ns --unshare-all --share-net", args: withSh(o("--unshare-all", "--share-net"), nsScript)},
		{name: "ns --share-net --unshare-all", args: withSh(o("--share-net", "--unshare-all"), nsScript)},
		{name: "ns --unshare-all --share-net --unshare-net", args: withSh(o("--unshare-all", "--share-net", "--unshare-net"), nsScript)},
		{name: "ns --share-net alone", args: withSh(o("--share-net"), nsScript)},
		{name: "loopback in new net ns", args: withSh(o("--unshare-net"), "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; grep -c . /proc/net/if_inet6 >/dev/null && cut -d' ' -f1,6 /proc/net/if_inet6")},

		// --- ids ---
		{name: "uid gid with --unshare-user", args: withSh(o("--unshare-user", "--uid", "5", "--gid", "6"), "id -u; id -g; id -G")},
		{name: "uid 0 implied user ns", args: withSh(o("--uid", "0", "--gid", "0"), "id -u; id -g")},
		{name: "uid only", args: withSh(o("--uid", "5"), "id -u; id -g")},
		{name: "uid twice", args: withSh(o("--uid", "1", "--uid", "2"), "id -u")},
		{name: "setgroups denied", args: withSh(nil, "cat /proc/self/setgroups")},

		// --- hostname ---
		{name: "hostname", args: a("--unshare-uts", "--hostname", "foo", "uname", "-n")},
		{name: "hostname default copy", args: a("--unshare-uts", "uname", "-n")},
		{name: "hostname empty", args: a("--unshare-uts", "--hostname", "", "uname", "-n")},
		{name: "hostname needs uts", args: a("--hostname", "foo", "uname", "-n")},
		{name: "hostname twice", args: a("--unshare-uts", "--hostname", "a", "--hostname", "b", "uname", "-n")},

		// --- working directory and environment ---
		{name: "cwd exists inside", dir: "/usr/share", args: a("sh", "-c", "pwd; echo $PWD")},
		{name: "cwd missing inside, HOME exists", env: o("HOME=/usr/lib"), args: a("sh", "-c", "pwd; echo $PWD")},
		{name: "cwd missing inside, HOME missing", args: a("sh", "-c", "pwd; echo $PWD")},
		{name: "cwd missing inside, HOME from --setenv", args: a("--setenv", "HOME", "/usr/bin", "sh", "-c", "pwd; echo $PWD")},
		{name: "cwd made inside by --dir", args: a("--dir", "@FX", "sh", "-c", "pwd; echo $PWD")},
		{name: "chdir", dir: "/usr/share", args: a("--chdir", "/usr/bin", "sh", "-c", "pwd; echo $PWD")},
		{name: "chdir relative", args: a("--chdir", "usr", "sh", "-c", "pwd; echo $PWD")},
		{name: "chdir missing", args: a("--chdir", "/nope", "true")},
		{name: "chdir twice", args: a("--chdir", "/nope", "--chdir", "/usr", "pwd")},
		{name: "setenv unsetenv", env: o("A=1", "B=2"), args: a("--setenv", "C", "3", "--unsetenv", "B", "--setenv", "A", "x y", "sh", "-c", "env | sort")},
		{name: "clearenv keeps later setenv and PWD", env: o("A=1"), args: a("--setenv", "A", "2", "--clearenv", "--setenv", "B", "2", "/usr/bin/env")},
		{name: "clearenv then PATH lookup", args: a("--clearenv", "env")},
		{name: "unsetenv PATH then lookup", args: a("--unsetenv", "PATH", "env")},
		{name: "setenv PATH used by execvp", args: a("--setenv", "PATH", "/nonexistent", "sh", "-c", "true")},
		{name: "setenv bad name", args: a("--setenv", "A=B", "x", "true")},

		// --- binds ---
		{name: "bind dir with missing parents", args: withSh(o("--bind", "@FX/dir", "/a/b/c"), "modes /a /a/b /a/b/c; mi /a; ls /a/b/c")},
		{name: "ro-bind dir", args: withSh(o("--ro-bind", "@FX/dir", "/a/b"), "modes /a /a/b; mi /a; touch /a/b/x")},
		{name: "dev-bind dir", args: withSh(o("--dev-bind", "@FX/dir", "/a/b"), "modes /a /a/b; mi /a")},
		{name: "bind file with missing parents", args: withSh(o("--bind", "@FX/file", "/f/g/h"), "modes /f /f/g /f/g/h; mi /f; cat /f/g/h")},
		{name: "ro-bind file", args: withSh(o("--ro-bind", "@FX/file", "/f"), "modes /f; mi /f; echo x > /f")},
		{name: "dev-bind device", args: withSh(o("--dev-bind", "/dev/null", "/x/null"), "modes /x /x/null; mi /x; echo hi > /x/null && echo wrote")},
		{name: "bind device nodev", args: withSh(o("--bind", "/dev/null", "/n"), "mi /n; echo hi > /n && echo wrote")},
		{name: "bind writes reach host", args: withSh(o("--bind", "@W", "/w"), "echo hi > /w/out && echo wrote"), host: readHost("out")},
		{name: "ro-bind write refused", args: withSh(o("--ro-bind", "@W", "/w"), "echo hi > /w/out"), host: readHost("out")},
		{name: "bind submounts get nosuid nodev", args: withSh(o("--bind", "/dev", "/d"), "mi /d")},
		{name: "dev-bind submounts", args: withSh(o("--dev-bind", "/dev", "/d"), "mi /d")},
		{name: "ro-bind submounts", args: withSh(o("--ro-bind", "/dev", "/d"), "mi /d")},
		{name: "bind-try missing source", args: withSh(o("--bind-try", "/nonexistent", "/a/b"), "[ -e /a ] && echo exists || echo absent")},
		{name: "ro-bind-try missing source", args: withSh(o("--ro-bind-try", "/nonexistent", "/a"), "[ -e /a ] && echo exists || echo absent")},
		{name: "dev-bind-try missing source", args: withSh(o("--dev-bind-try", "/nonexistent", "/a"), "[ -e /a ] && echo exists || echo absent")},
		{name: "ro-bind-try existing source", args: withSh(o("--ro-bind-try", "@FX/dir", "/a"), "mi /a; ls /a")},
		{name: "bind missing source", args: a("--bind", "/nonexistent", "/a", "true")},
		{name: "ro-bind missing source", args: a("--ro-bind", "/nonexistent/x", "/a", "true")},
		{name: "dev-bind missing source", args: a("--dev-bind", "nonexistent", "/a", "true")},
		{name: "bind file onto dir", args: a("--dir", "/d", "--ro-bind", "@FX/file", "/d", "true")},
		{name: "bind dir onto file", args: a("--ro-bind", "@FX/file", "/f", "--ro-bind", "@FX/dir", "/f", "true")},
		{name: "bind below a file", args: a("--ro-bind", "@FX/file", "/f", "--ro-bind", "@FX/dir", "/f/g", "true")},
		{name: "bind relative source", args: withSh(o("--ro-bind", "file", "/rel"), "cat /rel")},
		{name: "bind relative dest", args: withSh(o("--ro-bind", "@FX/dir", "rel/d"), "modes /rel /rel/d; ls /rel/d")},
		{name: "bind symlink source", args: withSh(o("--ro-bind", "@FX/link", "/l"), "modes /l; cat /l")},
		{name: "bind over existing bind", args: withSh(o("--tmpfs", "/t", "--ro-bind", "@FX/dir", "/t"), "mi /t; ls /t")},

		// --- --remount-ro ---
		{name: "remount-ro", args: withSh(o("--bind", "@W", "/w", "--remount-ro", "/w"), "mi /w; echo x > /w/f"), host: readHost("f")},
		{name: "remount-ro tmpfs", args: withSh(o("--tmpfs", "/t", "--remount-ro", "/t"), "mi /t")},
		{name: "remount-ro not a mount point", args: a("--dir", "/d", "--remount-ro", "/d", "true")},
		{name: "remount-ro missing", args: a("--remount-ro", "/a/b", "true")},

		// --- --proc ---
		{name: "proc host bind", args: concat(usrArgs(), o("--proc", "/proc"), sh("mi /proc"))},
		{name: "proc new pid ns", args: concat(usrArgs(), o("--unshare-pid", "--proc", "/proc"), sh("mi /proc; echo $$; cat /proc/1/comm; ls /proc | grep -c '^[0-9]'"))},
		{name: "proc parents", args: concat(usrArgs(), o("--proc", "/p/q"), sh("modes /p /p/q; ls /p/q/self/ >/dev/null && echo ok"))},

		// --- --dev ---
		{name: "dev listing", args: withSh(o("--dev", "/dev"), "find /dev -printf '%p %y %m %l\\n' | sort")},
		{name: "dev mounts", args: withSh(o("--dev", "/dev"), "mi /dev")},
		{name: "dev use", args: withSh(o("--dev", "/dev"), "echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | od -An -tx1; head -c 4 /dev/urandom | wc -c; touch /dev/shm/x && echo shm-ok; echo x > /dev/full")},
		{name: "dev pty", args: withSh(o("--dev", "/dev"), "python3 -c 'import os; m, s = os.openpty(); print(os.ttyname(s))'")},
		{name: "dev parents", args: withSh(o("--dev", "/x/dev"), "modes /x /x/dev")},

		// --- --tmpfs ---
		{name: "tmpfs default", args: withSh(o("--tmpfs", "/t"), "modes /t; mi /t; touch /t/x && echo ok")},
		{name: "tmpfs perms and size", args: withSh(o("--perms", "0700", "--size", "1048576", "--tmpfs", "/t2"), "modes /t2; mi /t2")},
		{name: "tmpfs size then perms", args: withSh(o("--size", "1048576", "--perms", "01777", "--tmpfs", "/t"), "modes /t; mi /t")},
		{name: "tmpfs size hex", args: withSh(o("--size", "0x200000", "--tmpfs", "/t"), "mi /t")},
		{name: "tmpfs size octal", args: withSh(o("--size", "010", "--tmpfs", "/t"), "mi /t")},
		{name: "tmpfs parents follow perms", args: withSh(o("--perms", "0750", "--tmpfs", "/a/b"), "modes /a /a/b")},
		{name: "tmpfs full", args: withSh(o("--size", "8192", "--tmpfs", "/t"), "head -c 65536 /dev/zero > /t/f 2>/dev/null; echo $?")},

		// --- --mqueue ---
		{name: "mqueue", args: withSh(o("--unshare-ipc", "--mqueue", "/dev/mqueue"), "modes /dev /dev/mqueue; mi /dev/mqueue")},
		{name: "mqueue without ipc ns", args: a("--mqueue", "/mq", "true")},

		// --- --dir ---
		{name: "dir default", args: withSh(o("--dir", "/d"), "modes /d")},
		{name: "dir perms with parents", args: withSh(o("--perms", "0700", "--dir", "/a/b"), "modes /a /a/b")},
		{name: "dir sticky", args: withSh(o("--perms", "1777", "--dir", "/s"), "modes /s")},
		{name: "dir parents 0640", args: withSh(o("--perms", "0640", "--dir", "/e/f"), "modes /e /e/f")},
		{name: "dir parents 0604", args: withSh(o("--perms", "0604", "--dir", "/g/h"), "modes /g /g/h")},
		{name: "dir parents 0000", args: withSh(o("--perms", "0000", "--dir", "/i/j"), "modes /i /i/j")},
		{name: "dir existing keeps mode", args: withSh(o("--perms", "0700", "--dir", "/usr"), "modes /usr")},
		{name: "dir existing twice", args: withSh(o("--dir", "/d", "--perms", "0700", "--dir", "/d"), "modes /d")},
		{name: "dir on a file", args: a("--ro-bind", "@FX/file", "/f", "--dir", "/f", "true")},
		{name: "dir inside read-only bind", args: a("--dir", "/usr/newdir", "true")},

		// --- --file, --bind-data, --ro-bind-data ---
		{name: "file", fds: []fdSpec{{in: "hello\n"}}, args: withSh(o("--file", "3", "/etc/x"), "modes /etc /etc/x; cat /etc/x; ls /proc/self/fd")},
		{name: "file perms", fds: []fdSpec{{in: "hello\n"}}, args: withSh(o("--perms", "0640", "--file", "3", "/a/x"), "modes /a /a/x")},
		{name: "file read-only dest", fds: []fdSpec{{in: "hello\n"}}, args: a("--file", "3", "/usr/x", "true")},
		{name: "file bad fd", args: a("--file", "9", "/x", "true")},
		{name: "file fd used twice", fds: []fdSpec{{in: "hello\n"}}, args: a("--file", "3", "/x", "--file", "3", "/y", "true")},
		{name: "file invalid fd", args: a("--file", "x", "/x", "true")},
		{name: "file truncates existing", fds: []fdSpec{{in: "new\n"}}, args: withSh(o("--ro-bind", "@FX/dir", "/d", "--tmpfs", "/t", "--file", "3", "/t/a"), "cat /t/a")},
		{name: "bind-data", fds: []fdSpec{{in: "bound\n"}}, args: withSh(o("--bind-data", "3", "/d/x"), "modes /d /d/x; stat -c %h /d/x; mi /d; cat /d/x; echo more >> /d/x && cat /d/x")},
		{name: "ro-bind-data", fds: []fdSpec{{in: "bound\n"}}, args: withSh(o("--ro-bind-data", "3", "/d/x"), "modes /d /d/x; mi /d; cat /d/x; echo more >> /d/x")},
		{name: "ro-bind-data perms", fds: []fdSpec{{in: "bound\n"}}, args: withSh(o("--perms", "0644", "--ro-bind-data", "3", "/x"), "modes /x")},
		{name: "bind-data two fds", fds: []fdSpec{{in: "one\n"}, {in: "two\n"}}, args: withSh(o("--ro-bind-data", "3", "/a", "--bind-data", "4", "/b"), "cat /a /b; ls /proc/self/fd")},
		{name: "bind-data onto dir", fds: []fdSpec{{in: "x"}}, args: a("--dir", "/d", "--bind-data", "3", "/d", "true")},

		// --- --symlink ---
		{name: "symlink with parents", args: withSh(o("--symlink", "/target", "/a/b/l"), "modes /a /a/b; readlink /a/b/l")},
		{name: "symlink relative", args: withSh(o("--symlink", "usr/share", "/s"), "readlink /s; ls -d /s/")},
		{name: "symlink dangling", args: withSh(o("--symlink", "../../nowhere", "/n"), "readlink /n")},
		{name: "symlink then bind through it", args: withSh(o("--dir", "/real", "--symlink", "real", "/l", "--ro-bind", "@FX/dir", "/l/x"), "ls /real/x")},

		// --- --chmod ---
		{name: "chmod", args: withSh(o("--dir", "/d", "--chmod", "0700", "/d"), "modes /d")},
		{name: "chmod sticky", args: withSh(o("--tmpfs", "/t", "--chmod", "01777", "/t"), "modes /t")},
		{name: "chmod zero", args: withSh(o("--tmpfs", "/t", "--chmod", "0", "/t"), "modes /t")},
		{name: "chmod follows symlink", args: withSh(o("--dir", "/d", "--symlink", "/d", "/l", "--chmod", "0700", "/l"), "modes /d")},
		{name: "chmod order matters", args: withSh(o("--dir", "/d", "--chmod", "0700", "/d", "--dir", "/d/e"), "modes /d /d/e")},
		{name: "chmod missing", args: a("--chmod", "0755", "/nope", "true")},
		{name: "chmod missing mode 0", args: a("--chmod", "0", "/nope", "true")},
		{name: "chmod read-only", args: a("--chmod", "0700", "/usr", "true")},

		// --- --lock-file ---
		{name: "lock-file held", fds: []fdSpec{{in: ""}}, args: withSh(o("--file", "3", "/l", "--lock-file", "/l"), "i=$(stat -c %i /l); grep \":$i \" /proc/locks | cut -d' ' -f2-")},
		{name: "lock-file missing", args: a("--lock-file", "/nope", "true")},

		// --- --info-fd, --json-status-fd ---
		{name: "info-fd", fds: []fdSpec{{out: true}}, numbers: true, args: a("--info-fd", "3", "true")},
		{name: "info-fd unshare-all", fds: []fdSpec{{out: true}}, numbers: true, args: a("--unshare-all", "--info-fd", "3", "true")},
		{name: "info-fd some namespaces", fds: []fdSpec{{out: true}}, numbers: true, args: a("--unshare-net", "--unshare-uts", "--info-fd", "3", "true")},
		{name: "info-fd closed in payload", fds: []fdSpec{{out: true}}, numbers: true, args: a("--info-fd", "3", "ls", "/proc/self/fd")},
		{name: "info-fd twice", fds: []fdSpec{{out: true}, {out: true}}, numbers: true, args: a("--info-fd", "3", "--info-fd", "4", "true")},
		{name: "json-status-fd", fds: []fdSpec{{out: true}}, numbers: true, args: a("--json-status-fd", "3", "sh", "-c", "exit 3")},
		{name: "json-status-fd unshare-all", fds: []fdSpec{{out: true}}, numbers: true, args: a("--unshare-all", "--json-status-fd", "3", "true")},
		{name: "json-status-fd signal", fds: []fdSpec{{out: true}}, args: a("--unshare-pid", "--json-status-fd", "3", "sh", "-c", "kill -9 $$"), numbers: true},
		{name: "json-status-fd exec failure", fds: []fdSpec{{out: true}}, numbers: true, args: a("--json-status-fd", "3", "no-such-command-xyz")},
		{name: "json-status-fd setup failure", fds: []fdSpec{{out: true}}, numbers: true, args: a("--json-status-fd", "3", "--chdir", "/nope", "true")},
		{name: "info-fd and json-status-fd", fds: []fdSpec{{out: true}, {out: true}}, numbers: true, args: a("--unshare-ipc", "--info-fd", "3", "--json-status-fd", "4", "true")},

		// --- --args ---
		{name: "args", fds: []fdSpec{{in: "--setenv\x00FOO\x00bar\x00--dir\x00/from-args\x00"}}, args: a("--args", "3", "sh", "-c", "echo $FOO; ls -d /from-args")},
		{name: "args without trailing NUL", fds: []fdSpec{{in: "--setenv\x00FOO\x00bar"}}, args: a("--args", "3", "sh", "-c", "echo $FOO")},
		{name: "args command inside file", fds: []fdSpec{{in: "--setenv\x00X\x00y\x00echo\x00inner\x00"}}, args: a("--args", "3", "sh", "-c", "echo outer $X")},
		{name: "args only command", fds: []fdSpec{{in: "--setenv\x00X\x00y\x00echo\x00inner\x00"}}, args: a("--args", "3")},
		{name: "args missing value", fds: []fdSpec{{in: "--setenv\x00FOO\x00"}}, args: a("--args", "3", "true")},
		{name: "args nested", fds: []fdSpec{{in: "--args\x003\x00"}}, args: a("--args", "3", "true")},
		{name: "args unknown option", fds: []fdSpec{{in: "--bogus\x00"}}, args: a("--args", "3", "true")},
		{name: "args bad fd", args: a("--args", "9", "true")},
		{name: "args empty", fds: []fdSpec{{in: ""}}, args: a("--args", "3", "echo", "ok")},

		// --- process ---
		{name: "session shared", args: withSh(nil, `set -- $(cat /proc/$$/stat); [ "$6" = "$HOSTSID" ] && echo same-session || echo new-session`)},
		{name: "new-session", args: withSh(o("--new-session"), `set -- $(cat /proc/$$/stat); [ "$6" = "$HOSTSID" ] && echo same-session || echo new-session`)},
		{name: "pid ns payload pid", args: withSh(o("--unshare-pid"), "echo $$; cat /proc/1/comm")},
		{name: "as-pid-1", args: withSh(o("--unshare-pid", "--as-pid-1"), "echo $$")},
		{name: "as-pid-1 needs pid ns", args: a("--as-pid-1", "true")},
		{name: "as-pid-1 with lock-file", args: a("--unshare-pid", "--as-pid-1", "--lock-file", "/usr", "true")},
		{name: "pdeathsig default", args: a("python3", "-c", "import ctypes; l = ctypes.CDLL(None); s = ctypes.c_int(); l.prctl(2, ctypes.byref(s)); print(s.value)")},
		{name: "die-with-parent pdeathsig", args: a("--die-with-parent", "python3", "-c", "import ctypes; l = ctypes.CDLL(None); s = ctypes.c_int(); l.prctl(2, ctypes.byref(s)); print(s.value)")},
		{name: "no new privs", args: withSh(nil, "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status")},
		{name: "extra fds inherited", fds: []fdSpec{{in: "x"}}, args: withSh(nil, "ls /proc/self/fd; cat <&3")},
		{name: "sync-fd closed in payload", fds: []fdSpec{{out: true}}, args: withSh(o("--sync-fd", "3"), "ls /proc/self/fd")},
		{name: "block-fd closed in payload", fds: []fdSpec{{in: ""}}, args: withSh(o("--block-fd", "3"), "ls /proc/self/fd")},
		{name: "umask restored", args: withSh(nil, "umask")},

		// --- capabilities ---
		{name: "caps default", args: withSh(nil, capsScript)},
		{name: "caps uid 0", args: withSh(o("--uid", "0"), capsScript)},
		{name: "cap-add", args: withSh(o("--cap-add", "CAP_NET_ADMIN"), capsScript)},
		{name: "cap-add lower case", args: withSh(o("--cap-add", "cap_kill"), capsScript)},
		{name: "cap-add number", args: withSh(o("--cap-add", "5"), capsScript)},
		{name: "cap-add all", args: withSh(o("--cap-add", "ALL"), capsScript)},
		{name: "cap-add all then drop", args: withSh(o("--cap-add", "all", "--cap-drop", "CAP_SYS_ADMIN"), capsScript)},
		{name: "cap-drop all then add", args: withSh(o("--cap-drop", "ALL", "--cap-add", "CAP_CHOWN", "--cap-add", "CAP_FOWNER"), capsScript)},
		{name: "cap-add uid 0 works", args: withSh(o("--uid", "0", "--cap-add", "CAP_DAC_OVERRIDE"), "touch /t 2>&1; "+capsScript)},
	}
}

// TestBwrapCompat runs each command line with bubblewrap and with ours.
func TestBwrapCompat(t *testing.T) {
	requireRealBwrap(t)
	requireUser(t)
	fx := compatFixture(t)
	for _, c := range compatCases() {
		c := c
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			checkCompat(t, c, fx)
		})
	}
}

// TestBwrap011Only asserts, on ours alone, the 0.11 behaviour where the
// installed 0.8.0 differs (facts §7), and 0.11's exact texts.
func TestBwrap011Only(t *testing.T) {
	fx := compatFixture(t)
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"version", o("--version"), 0, "bubblewrap 0.11.0\n", ""},
		{"symlink onto identical symlink", concat(usrArgs(), o("--symlink", "usr/bin", "/bin", "readlink", "/bin")), 0, "usr/bin\n", ""},
		{"symlink twice", concat(usrArgs(), o("--symlink", "x", "/l", "--symlink", "x", "/l", "readlink", "/l")), 0, "x\n", ""},
		{"symlink onto other symlink", concat(usrArgs(), o("--symlink", "x", "/l", "--symlink", "y", "/l", "true")), 1, "", "bwrap: Can't make symlink at /l: existing destination is x\n"},
		{"symlink onto directory", concat(usrArgs(), o("--symlink", "x", "/usr", "true")), 1, "", "bwrap: Can't make symlink at /usr: destination exists and is not a symlink\n"},
		{"symlink onto file", concat(usrArgs(), o("--ro-bind", fx+"/file", "/f", "--symlink", "x", "/f", "true")), 1, "", "bwrap: Can't make symlink at /f: destination exists and is not a symlink\n"},
		{"argv0 twice", concat(usrArgs(), o("--argv0", "a", "--argv0", "b", "true")), 1, "", "bwrap: --argv0 used multiple times\n"},
		{"argv0 missing", o("--argv0"), 1, "", "bwrap: --argv0 takes one argument\n"},
		{"level-prefix unknown option", o("--level-prefix", "--bogus"), 1, "", "<3>bwrap: Unknown option --bogus\n"},
		{"level-prefix warning", concat(usrArgs(), o("--level-prefix", "--chdir", "/", "--chdir", "/usr", "true")), 0, "", "<4>bwrap: Only the last --chdir option will take effect\n"},
		{"level-prefix after error option", o("--bogus", "--level-prefix"), 1, "", "bwrap: Unknown option --bogus\n"},
		{"overlay missing", o("--overlay", "a", "b"), 1, "", "bwrap: --overlay takes three arguments\n"},
		{"tmp-overlay missing", o("--tmp-overlay"), 1, "", "bwrap: --tmp-overlay takes an argument\n"},
		{"ro-overlay missing", o("--ro-overlay"), 1, "", "bwrap: --ro-overlay takes an argument\n"},
		{"ro-bind-fd missing", o("--ro-bind-fd", "3"), 1, "", "bwrap: --bind-fd takes two arguments\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runWith(t, runOpts{env: []string{"PATH=/usr/bin:/bin"}}, bwrapBin, c.args...)
			if r.code != c.code || r.stdout != c.stdout || r.stderr != c.stderr {
				t.Errorf("bwrap %q:\n%s\nwant exit %d, stdout %q, stderr %q", c.args, r, c.code, c.stdout, c.stderr)
			}
		})
	}
}

// help011 is bubblewrap 0.11's --help after the usage line (facts §6).
const help011 = `
    --help                       Print this help
    --version                    Print version
    --args FD                    Parse NUL-separated args from FD
    --argv0 VALUE                Set argv[0] to the value VALUE before running the program
    --level-prefix               Prepend e.g. <3> to diagnostic messages
    --unshare-all                Unshare every namespace we support by default
    --share-net                  Retain the network namespace (can only combine with --unshare-all)
    --unshare-user               Create new user namespace (may be automatically implied if not setuid)
    --unshare-user-try           Create new user namespace if possible else continue by skipping it
    --unshare-ipc                Create new ipc namespace
    --unshare-pid                Create new pid namespace
    --unshare-net                Create new network namespace
    --unshare-uts                Create new uts namespace
    --unshare-cgroup             Create new cgroup namespace
    --unshare-cgroup-try         Create new cgroup namespace if possible else continue by skipping it
    --userns FD                  Use this user namespace (cannot combine with --unshare-user)
    --userns2 FD                 After setup switch to this user namespace, only useful with --userns
    --disable-userns             Disable further use of user namespaces inside sandbox
    --assert-userns-disabled     Fail unless further use of user namespace inside sandbox is disabled
    --pidns FD                   Use this pid namespace (as parent namespace if using --unshare-pid)
    --uid UID                    Custom uid in the sandbox (requires --unshare-user or --userns)
    --gid GID                    Custom gid in the sandbox (requires --unshare-user or --userns)
    --hostname NAME              Custom hostname in the sandbox (requires --unshare-uts)
    --chdir DIR                  Change directory to DIR
    --clearenv                   Unset all environment variables
    --setenv VAR VALUE           Set an environment variable
    --unsetenv VAR               Unset an environment variable
    --lock-file DEST             Take a lock on DEST while sandbox is running
    --sync-fd FD                 Keep this fd open while sandbox is running
    --bind SRC DEST              Bind mount the host path SRC on DEST
    --bind-try SRC DEST          Equal to --bind but ignores non-existent SRC
    --dev-bind SRC DEST          Bind mount the host path SRC on DEST, allowing device access
    --dev-bind-try SRC DEST      Equal to --dev-bind but ignores non-existent SRC
    --ro-bind SRC DEST           Bind mount the host path SRC readonly on DEST
    --ro-bind-try SRC DEST       Equal to --ro-bind but ignores non-existent SRC
    --bind-fd FD DEST            Bind open directory or path fd on DEST
    --ro-bind-fd FD DEST         Bind open directory or path fd read-only on DEST
    --remount-ro DEST            Remount DEST as readonly; does not recursively remount
    --overlay-src SRC            Read files from SRC in the following overlay
    --overlay RWSRC WORKDIR DEST Mount overlayfs on DEST, with RWSRC as the host path for writes and
                                 WORKDIR an empty directory on the same filesystem as RWSRC
    --tmp-overlay DEST           Mount overlayfs on DEST, with writes going to an invisible tmpfs
    --ro-overlay DEST            Mount overlayfs read-only on DEST
    --exec-label LABEL           Exec label for the sandbox
    --file-label LABEL           File label for temporary sandbox content
    --proc DEST                  Mount new procfs on DEST
    --dev DEST                   Mount new dev on DEST
    --tmpfs DEST                 Mount new tmpfs on DEST
    --mqueue DEST                Mount new mqueue on DEST
    --dir DEST                   Create dir at DEST
    --file FD DEST               Copy from FD to destination DEST
    --bind-data FD DEST          Copy from FD to file which is bind-mounted on DEST
    --ro-bind-data FD DEST       Copy from FD to file which is readonly bind-mounted on DEST
    --symlink SRC DEST           Create symlink at DEST with target SRC
    --seccomp FD                 Load and use seccomp rules from FD (not repeatable)
    --add-seccomp-fd FD          Load and use seccomp rules from FD (repeatable)
    --block-fd FD                Block on FD until some data to read is available
    --userns-block-fd FD         Block on FD until the user namespace is ready
    --info-fd FD                 Write information about the running container to FD
    --json-status-fd FD          Write container status to FD as multiple JSON documents
    --new-session                Create a new terminal session
    --die-with-parent            Kills with SIGKILL child process (COMMAND) when bwrap or bwrap's parent dies.
    --as-pid-1                   Do not install a reaper process with PID=1
    --cap-add CAP                Add cap CAP when running as privileged user
    --cap-drop CAP               Drop cap CAP when running as privileged user
    --perms OCTAL                Set permissions of next argument (--bind-data, --file, etc.)
    --size BYTES                 Set size of next argument (only for --tmpfs)
    --chmod OCTAL PATH           Change permissions of PATH (must already exist)
`

// TestBwrapHelpText: --help is 0.11's text on stdout (exit 0); without a
// command the same text goes to stderr with exit 1.
func TestBwrapHelpText(t *testing.T) {
	want := "usage: " + bwrapBin + " [OPTIONS...] [--] COMMAND [ARGS...]\n" + help011
	r := bw(t, "--help")
	if r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Errorf("--help:\n%s\nwant on stdout:\n%s", r, want)
	}
	r = bw(t, "--ro-bind", "/", "/")
	if r.code != 1 || r.stdout != "" || r.stderr != want {
		t.Errorf("no command:\n%s\nwant on stderr:\n%s", r, want)
	}
}

// TestBwrapBlockFD: nothing of the payload runs until a byte arrives on the
// --block-fd; EOF releases it too.
func TestBwrapBlockFD(t *testing.T) {
	requireRealBwrap(t)
	for _, bin := range []string{realBwrap, bwrapBin} {
		for _, release := range []string{"byte", "eof"} {
			t.Run(filepath.Base(filepath.Dir(bin))+"/"+release, func(t *testing.T) {
				w := workDir(t)
				rd, wr, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer wr.Close()
				cmd := exec.Command(bin, concat(base(), o("--bind", w, "/w", "--block-fd", "3", "sh", "-c", "echo ran > /w/ran"))...)
				cmd.ExtraFiles = []*os.File{rd}
				out := &strings.Builder{}
				cmd.Stdout, cmd.Stderr = out, out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				rd.Close()
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				select {
				case err := <-done:
					t.Fatalf("exited before the block fd was written: %v\n%s", err, out)
				case <-time.After(700 * time.Millisecond):
				}
				if _, err := os.Stat(filepath.Join(w, "ran")); err == nil {
					t.Fatal("the payload ran before the block fd was written")
				}
				if release == "byte" {
					wr.Write([]byte{'x'})
				} else {
					wr.Close()
				}
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("exit: %v\n%s", err, out)
					}
				case <-time.After(20 * time.Second):
					cmd.Process.Kill()
					t.Fatal("still blocked 20s after the block fd was released")
				}
				if b, _ := os.ReadFile(filepath.Join(w, "ran")); string(b) != "ran\n" {
					t.Fatalf("payload did not run after release: %q\n%s", b, out)
				}
			})
		}
	}
}

// TestBwrapSyncFD: the --sync-fd stays open until the sandbox is gone, and
// only then does its reader see EOF.
func TestBwrapSyncFD(t *testing.T) {
	requireRealBwrap(t)
	for _, bin := range []string{realBwrap, bwrapBin} {
		t.Run(filepath.Base(filepath.Dir(bin)), func(t *testing.T) {
			rd, wr, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			cmd := exec.Command(bin, concat(base(), o("--sync-fd", "3", "sh", "-c", "sleep 0.5"))...)
			cmd.ExtraFiles = []*os.File{wr}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			wr.Close()
			eof := make(chan time.Duration, 1)
			go func() { b := make([]byte, 1); rd.Read(b); eof <- time.Since(start) }()
			if err := cmd.Wait(); err != nil {
				t.Fatalf("exit: %v", err)
			}
			select {
			case d := <-eof:
				if d < 400*time.Millisecond {
					t.Fatalf("EOF on the sync fd after %v, while the sandbox ran for 0.5s", d)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no EOF on the sync fd 10s after the sandbox exited")
			}
		})
	}
}

// TestBwrapSIGTERMNoForwarding: bubblewrap 0.11 forwards no signals; SIGTERM
// kills bwrap (143) while the sandbox keeps running.
func TestBwrapDiesOnSIGTERM(t *testing.T) {
	requireRealBwrap(t)
	for _, bin := range []string{realBwrap, bwrapBin} {
		t.Run(filepath.Base(filepath.Dir(bin)), func(t *testing.T) {
			w := workDir(t)
			cmd := exec.Command(bin, concat(base(), o("--bind", w, "/w", "sh", "-c", "trap 'echo got > /w/got' TERM; touch /w/ready; sleep 1; echo done > /w/done"))...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				if _, err := os.Stat(filepath.Join(w, "ready")); err == nil {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatal("sandbox not ready after 10s")
				}
				time.Sleep(20 * time.Millisecond)
			}
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
				t.Errorf("bwrap after SIGTERM: %v, want killed by SIGTERM", cmd.ProcessState)
			}
			time.Sleep(1500 * time.Millisecond)
			if _, err := os.Stat(filepath.Join(w, "got")); err == nil {
				t.Error("SIGTERM was forwarded to the payload")
			}
			if _, err := os.Stat(filepath.Join(w, "done")); err != nil {
				t.Error("the payload did not keep running after bwrap died")
			}
		})
	}
}
