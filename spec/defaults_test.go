package spec

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// opString renders an op for the defaults tables: "kind [source] dest",
// with a leading "*" for an op the defaults added.
func opString(op Op) string {
	s := string(op.Kind)
	if op.Default {
		s = "*" + s
	}
	if op.Source != "" {
		s += " " + op.Source
	}
	return s + " " + op.Dest
}

func opStrings(ops []Op) []string {
	var out []string
	for _, op := range ops {
		out = append(out, opString(op))
	}
	return out
}

// mergedUsr is a Debian-like host: /bin, /sbin, /lib, /lib64 are symlinks
// into /usr; /lib32 and /libx32 do not exist.
var mergedUsr = map[string]string{"/bin": "usr/bin", "/sbin": "usr/sbin", "/lib": "usr/lib", "/lib64": "usr/lib64"}

func TestApplyDefaults(t *testing.T) {
	home := Host{Cwd: "/home/u/proj"}
	tests := []struct {
		name string
		args []string // sandbox personality, before "--", "sh"
		host Host
		// want is every op, in any order; before lists pairs that must be
		// in this order.
		want   []string
		before [][2]string
	}{
		{
			name: "nothing asked",
			host: home,
			want: []string{"*proc /proc", "*dev /dev", "*tmpfs /tmp", "*ro-bind /home/u/proj /home/u/proj"},
			before: [][2]string{
				{"*proc /proc", "*ro-bind /home/u/proj /home/u/proj"},
				{"*dev /dev", "*ro-bind /home/u/proj /home/u/proj"},
				{"*tmpfs /tmp", "*ro-bind /home/u/proj /home/u/proj"},
			},
		},
		{
			name: "defaults go after a root bind and before ops below them",
			args: []string{"--bind", "/x", "/etc/x", "--ro-bind", "/", "/", "--bind", "/y", "/proc/sys/y", "--bind", "/z", "/tmp/z", "--bind", "/d", "/dev/d"},
			host: home,
			want: []string{
				"bind /x /etc/x", "ro-bind / /", "bind /y /proc/sys/y", "bind /z /tmp/z", "bind /d /dev/d",
				"*proc /proc", "*dev /dev", "*tmpfs /tmp",
			},
			before: [][2]string{
				{"bind /x /etc/x", "ro-bind / /"},
				{"ro-bind / /", "*proc /proc"},
				{"ro-bind / /", "*dev /dev"},
				{"ro-bind / /", "*tmpfs /tmp"},
				{"*proc /proc", "bind /y /proc/sys/y"},
				{"*tmpfs /tmp", "bind /z /tmp/z"},
				{"*dev /dev", "bind /d /dev/d"},
				{"bind /y /proc/sys/y", "bind /z /tmp/z"},
			},
		},
		{
			name: "defaults go before ops below them when there is no ancestor",
			args: []string{"--bind", "/z", "/tmp/z", "--tmpfs", "/dev/shm"},
			host: home,
			want: []string{"bind /z /tmp/z", "tmpfs /dev/shm", "*proc /proc", "*dev /dev", "*tmpfs /tmp", "*ro-bind /home/u/proj /home/u/proj"},
			before: [][2]string{
				{"*tmpfs /tmp", "bind /z /tmp/z"},
				{"*dev /dev", "tmpfs /dev/shm"},
			},
		},
		{
			name: "user ops at the same destination replace the defaults",
			args: []string{"--dev-bind", "/dev", "/dev", "--proc", "/proc/", "--bind", "/host/tmp", "/tmp"},
			host: Host{},
			want: []string{"dev-bind /dev /dev", "proc /proc/", "bind /host/tmp /tmp"},
		},
		{
			name: "merged-/usr symlinks when /usr is bound at /usr",
			args: []string{"--ro-bind", "/usr"},
			host: Host{MergedUsr: mergedUsr},
			want: []string{
				"ro-bind /usr /usr", "*proc /proc", "*dev /dev", "*tmpfs /tmp",
				"*symlink usr/bin /bin", "*symlink usr/sbin /sbin", "*symlink usr/lib /lib", "*symlink usr/lib64 /lib64",
			},
		},
		{
			name: "merged-/usr symlinks with a -try bind and a trailing slash",
			args: []string{"--ro-bind-try", "/usr/", "/usr"},
			host: Host{MergedUsr: map[string]string{"/bin": "usr/bin"}},
			want: []string{"ro-bind /usr/ /usr", "*proc /proc", "*dev /dev", "*tmpfs /tmp", "*symlink usr/bin /bin"},
		},
		{
			name: "merged-/usr symlinks go after a root tmpfs",
			args: []string{"--tmpfs", "/", "--ro-bind", "/usr", "/usr"},
			host: Host{MergedUsr: map[string]string{"/lib": "usr/lib"}},
			want: []string{"tmpfs /", "ro-bind /usr /usr", "*proc /proc", "*dev /dev", "*tmpfs /tmp", "*symlink usr/lib /lib"},
			before: [][2]string{
				{"tmpfs /", "*symlink usr/lib /lib"},
				{"tmpfs /", "*proc /proc"},
			},
		},
		{
			name: "a user op at /bin replaces that symlink only",
			args: []string{"--ro-bind", "/usr", "/usr", "--ro-bind", "/bin", "/bin"},
			host: Host{MergedUsr: map[string]string{"/bin": "usr/bin", "/lib": "usr/lib"}},
			want: []string{"ro-bind /usr /usr", "ro-bind /bin /bin", "*proc /proc", "*dev /dev", "*tmpfs /tmp", "*symlink usr/lib /lib"},
		},
		{
			name: "no symlinks when the host has none",
			args: []string{"--ro-bind", "/usr"},
			host: Host{},
			want: []string{"ro-bind /usr /usr", "*proc /proc", "*dev /dev", "*tmpfs /tmp"},
		},
		{
			name: "no symlinks when /usr is bound elsewhere",
			args: []string{"--ro-bind", "/usr", "/opt/usr"},
			host: Host{MergedUsr: mergedUsr},
			want: []string{"ro-bind /usr /opt/usr", "*proc /proc", "*dev /dev", "*tmpfs /tmp"},
		},
		{
			name: "no symlinks when /usr comes from elsewhere",
			args: []string{"--ro-bind", "/srv/usr", "/usr"},
			host: Host{MergedUsr: mergedUsr},
			want: []string{"ro-bind /srv/usr /usr", "*proc /proc", "*dev /dev", "*tmpfs /tmp"},
		},
		{
			name: "no symlinks when /usr is not a bind",
			args: []string{"--tmpfs", "/usr"},
			host: Host{MergedUsr: mergedUsr},
			want: []string{"tmpfs /usr", "*proc /proc", "*dev /dev", "*tmpfs /tmp"},
		},
		{
			name: "cwd covered by the user's bind of it",
			args: []string{"--bind", "/home/u/proj"},
			host: home,
			want: []string{"bind /home/u/proj /home/u/proj", "*proc /proc", "*dev /dev", "*tmpfs /tmp"},
		},
		{
			name: "cwd covered by the user's bind of a parent",
			args: []string{"--ro-bind", "/home"},
			host: home,
			want: []string{"ro-bind /home /home", "*proc /proc", "*dev /dev", "*tmpfs /tmp"},
		},
		{
			name: "cwd covered by a root bind",
			args: []string{"--ro-bind", "/", "/"},
			host: home,
			want: []string{"ro-bind / /", "*proc /proc", "*dev /dev", "*tmpfs /tmp"},
		},
		{
			name: "cwd not covered by a bind of another source",
			args: []string{"--bind", "/srv", "/home/u/proj"},
			host: home,
			want: []string{"bind /srv /home/u/proj", "*proc /proc", "*dev /dev", "*tmpfs /tmp", "*ro-bind /home/u/proj /home/u/proj"},
			before: [][2]string{
				{"bind /srv /home/u/proj", "*ro-bind /home/u/proj /home/u/proj"},
			},
		},
		{
			name: "cwd not covered by a sibling",
			args: []string{"--bind", "/home/u/pro", "/home/u/pro"},
			host: home,
			want: []string{"bind /home/u/pro /home/u/pro", "*proc /proc", "*dev /dev", "*tmpfs /tmp", "*ro-bind /home/u/proj /home/u/proj"},
		},
		{
			name: "cwd bound after a tmpfs above it",
			args: []string{"--tmpfs", "/home"},
			host: home,
			want: []string{"tmpfs /home", "*proc /proc", "*dev /dev", "*tmpfs /tmp", "*ro-bind /home/u/proj /home/u/proj"},
			before: [][2]string{
				{"tmpfs /home", "*ro-bind /home/u/proj /home/u/proj"},
			},
		},
		{
			name: "cwd under /tmp bound after the default tmpfs",
			host: Host{Cwd: "/tmp/work"},
			want: []string{"*proc /proc", "*dev /dev", "*tmpfs /tmp", "*ro-bind /tmp/work /tmp/work"},
			before: [][2]string{
				{"*tmpfs /tmp", "*ro-bind /tmp/work /tmp/work"},
			},
		},
		{
			name: "cwd / is not bound",
			host: Host{Cwd: "/"},
			want: []string{"*proc /proc", "*dev /dev", "*tmpfs /tmp"},
		},
		{
			name: "home directory is not bound",
			host: Host{Cwd: "/home/u", Home: "/home/u/"},
			want: []string{"*proc /proc", "*dev /dev", "*tmpfs /tmp"},
		},
		{
			name: "a parent of home is not bound",
			host: Host{Cwd: "/home", Home: "/home/u"},
			want: []string{"*proc /proc", "*dev /dev", "*tmpfs /tmp"},
		},
		{
			name: "a directory inside home is bound",
			host: Host{Cwd: "/home/u/proj", Home: "/home/u"},
			want: []string{"*proc /proc", "*dev /dev", "*tmpfs /tmp", "*ro-bind /home/u/proj /home/u/proj"},
		},
		{
			name: "a sibling of home is bound",
			host: Host{Cwd: "/home/u2", Home: "/home/u"},
			want: []string{"*proc /proc", "*dev /dev", "*tmpfs /tmp", "*ro-bind /home/u2 /home/u2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{}, tt.args...), "--", "sh")
			s, _, err := Parse(Sandbox, args, Options{RealUID: 1000, RealGID: 1000})
			if err != nil {
				t.Fatalf("Parse(%q): %v", args, err)
			}
			notes := ApplyDefaults(s, tt.host)
			got := opStrings(s.Ops)
			if !sameMultiset(got, tt.want) {
				t.Errorf("ops = %q\nwant (any order) %q", got, tt.want)
			}
			for _, pair := range tt.before {
				i, j := slices.Index(got, pair[0]), slices.Index(got, pair[1])
				if i < 0 || j < 0 || i > j {
					t.Errorf("want %q before %q in %q", pair[0], pair[1], got)
				}
			}
			for _, op := range s.Ops {
				if op.Default && (op.FD != NoFD || op.Perms != -1) {
					t.Errorf("default op %+v: want FD NoFD and Perms -1", op)
				}
			}
			// One note per default added, naming it.
			for _, op := range s.Ops {
				if !op.Default {
					continue
				}
				found := false
				for _, n := range notes {
					if strings.HasPrefix(n, "--"+string(op.Kind)) && strings.HasSuffix(n, " "+op.Dest) {
						found = true
					}
				}
				if !found {
					t.Errorf("no note for default %s in %q", opString(op), notes)
				}
			}
			if err := Validate(s, 1000, 1000); err != nil {
				t.Errorf("Validate after ApplyDefaults: %v", err)
			}
		})
	}
}

func sameMultiset(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestApplyDefaultsProcess(t *testing.T) {
	tests := []struct {
		name string
		args []string
		host Host
		want func(s *Spec)
	}{
		{
			name: "hostname, die-with-parent, chdir to the cwd",
			host: Host{Cwd: "/home/u"},
			want: func(s *Spec) {
				s.Hostname, s.DieWithParent, s.Chdir = DefaultHostname, true, "/home/u"
			},
		},
		{
			name: "user hostname and chdir kept",
			args: []string{"--hostname", "box", "--chdir", "/"},
			host: Host{Cwd: "/home/u"},
			want: func(s *Spec) { s.Hostname, s.DieWithParent, s.Chdir = "box", true, "/" },
		},
		{
			name: "cwd / is not bound, so not the working directory",
			host: Host{Cwd: "/"},
			want: func(s *Spec) { s.Hostname, s.DieWithParent = DefaultHostname, true },
		},
		{
			name: "home is not bound, so not the working directory",
			host: Host{Cwd: "/home/u", Home: "/home/u"},
			want: func(s *Spec) { s.Hostname, s.DieWithParent = DefaultHostname, true },
		},
		{
			name: "cwd bound by the user is the working directory",
			args: []string{"--ro-bind", "/home/u"},
			host: Host{Cwd: "/home/u", Home: "/home/u"},
			want: func(s *Spec) { s.Hostname, s.DieWithParent, s.Chdir = DefaultHostname, true, "/home/u" },
		},
		{
			name: "unknown cwd",
			host: Host{},
			want: func(s *Spec) { s.Hostname, s.DieWithParent = DefaultHostname, true },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{}, tt.args...), "--", "sh")
			s, _, err := Parse(Sandbox, args, Options{RealUID: 1000, RealGID: 1000})
			if err != nil {
				t.Fatal(err)
			}
			ApplyDefaults(s, tt.host)
			got := Spec{Hostname: s.Hostname, DieWithParent: s.DieWithParent, Chdir: s.Chdir}
			want := Spec{}
			tt.want(&want)
			if got.Hostname != want.Hostname || got.DieWithParent != want.DieWithParent || got.Chdir != want.Chdir {
				t.Errorf("hostname %q die-with-parent %v chdir %q; want %q %v %q",
					got.Hostname, got.DieWithParent, got.Chdir, want.Hostname, want.DieWithParent, want.Chdir)
			}
		})
	}
}

func TestApplyDefaultsNamespaces(t *testing.T) {
	all := Namespaces{User: true, PID: true, Net: true, IPC: true, UTS: true, CgroupTry: true}
	tests := []struct {
		name string
		args []string
		want Namespaces
	}{
		{name: "every namespace", want: all},
		{name: "share-net keeps the network", args: []string{"--share-net"}, want: Namespaces{User: true, PID: true, IPC: true, UTS: true, CgroupTry: true}},
		{name: "unshare-all share-net keeps the network", args: []string{"--unshare-all", "--share-net"}, want: Namespaces{User: true, UserTry: true, PID: true, IPC: true, UTS: true, CgroupTry: true}},
		{name: "share-net unshare-all does not", args: []string{"--share-net", "--unshare-all"}, want: Namespaces{User: true, UserTry: true, PID: true, Net: true, IPC: true, UTS: true, CgroupTry: true}},
		{name: "explicit cgroup is not downgraded to try", args: []string{"--unshare-cgroup"}, want: Namespaces{User: true, PID: true, Net: true, IPC: true, UTS: true, Cgroup: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{}, tt.args...), "--", "sh")
			s, _, err := Parse(Sandbox, args, Options{RealUID: 1000, RealGID: 1000})
			if err != nil {
				t.Fatal(err)
			}
			ApplyDefaults(s, Host{})
			if s.Namespaces != tt.want {
				t.Errorf("namespaces = %+v, want %+v", s.Namespaces, tt.want)
			}
		})
	}
}

// TestApplyDefaultsNothing: the bwrap personality and --no-defaults get
// nothing at all.
func TestApplyDefaultsNothing(t *testing.T) {
	host := Host{Cwd: "/home/u", MergedUsr: mergedUsr}
	for _, tc := range []struct {
		p    Personality
		args []string
	}{
		{Bwrap, []string{"--ro-bind", "/usr", "/usr", "true"}},
		{Bwrap, []string{"--unshare-all", "--share-net", "--ro-bind", "/", "/", "true"}},
		{Sandbox, []string{"--no-defaults", "--ro-bind", "/usr", "--", "sh"}},
		{Sandbox, []string{"--no-defaults", "--", "sh"}},
	} {
		t.Run(string(tc.p)+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			s, _, err := Parse(tc.p, tc.args, Options{RealUID: 1000, RealGID: 1000})
			if err != nil {
				t.Fatal(err)
			}
			before := *s
			before.Ops = slices.Clone(s.Ops)
			if notes := ApplyDefaults(s, host); notes != nil {
				t.Errorf("notes = %q, want none", notes)
			}
			if !reflect.DeepEqual(*s, before) {
				t.Errorf("ApplyDefaults changed the spec:\n got %s\nwant %s", specJSON(s), specJSON(&before))
			}
		})
	}
}

// The cases below show defaults the current rules get wrong; each skips
// with the bug while it fails.

func TestApplyDefaultsCwdHiddenByLaterTmpfs(t *testing.T) {
	// --ro-bind / / covers the cwd, but the later --tmpfs /home hides it
	// again; boundByUser's doc says "makes p visible", so the cwd must be
	// bound after the tmpfs.
	s, _, err := Parse(Sandbox, []string{"--ro-bind", "/", "/", "--tmpfs", "/home", "--", "sh"}, Options{RealUID: 1000, RealGID: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ApplyDefaults(s, Host{Cwd: "/home/u"})
	got := opStrings(s.Ops)
	i, j := slices.Index(got, "tmpfs /home"), slices.Index(got, "*ro-bind /home/u /home/u")
	if j < 0 || j < i {
		t.Fatalf("cwd /home/u hidden by a later --tmpfs /home is not bound (ops %q), yet --chdir /home/u is set", got)
	}
}

func TestApplyDefaultsOpsOnTheDefaultMount(t *testing.T) {
	// --remount-ro, --chmod and --lock-file act on what is already at their
	// path: they must not replace the default mount there.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--remount-ro", "/proc"}, "*proc /proc"},
		{[]string{"--chmod", "0700", "/tmp"}, "*tmpfs /tmp"},
		{[]string{"--lock-file", "/tmp"}, "*tmpfs /tmp"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append(append([]string{}, tc.args...), "--", "sh")
			s, _, err := Parse(Sandbox, args, Options{RealUID: 1000, RealGID: 1000})
			if err != nil {
				t.Fatal(err)
			}
			ApplyDefaults(s, Host{})
			got := opStrings(s.Ops)
			user := opString(s.Ops[slices.IndexFunc(s.Ops, func(op Op) bool { return !op.Default })])
			i, j := slices.Index(got, tc.want), slices.Index(got, user)
			if i < 0 || i > j {
				t.Fatalf("%q replaces the default %s instead of following it (ops %q)", tc.args, tc.want, got)
			}
		})
	}
}

func TestApplyDefaultsWarnsUnboundCwd(t *testing.T) {
	for _, h := range []Host{{Cwd: "/"}, {Cwd: "/home/u", Home: "/home/u"}, {Cwd: "/home", Home: "/home/u"}} {
		s, _, err := Parse(Sandbox, []string{"--", "sh"}, Options{RealUID: 1000, RealGID: 1000})
		if err != nil {
			t.Fatal(err)
		}
		ApplyDefaults(s, h)
		if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], h.Cwd) || !strings.Contains(s.Warnings[0], "--ro-bind") {
			t.Errorf("cwd %q home %q: warnings %q, want one naming the directory and --ro-bind", h.Cwd, h.Home, s.Warnings)
		}
	}
}
