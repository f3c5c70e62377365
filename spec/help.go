package spec

import (
	"fmt"
	"strings"
)

// helpOrder is the order of options in --help, grouped as in the README.
var helpOrder = []struct{ group, names string }{
	{"General", "--help --version --args --argv0 --level-prefix --verbose --no-defaults"},
	{"Namespaces", "--unshare-all --share-net --unshare-user --unshare-user-try --unshare-ipc --unshare-pid --unshare-net --unshare-uts --unshare-cgroup --unshare-cgroup-try --userns --userns2 --disable-userns --assert-userns-disabled --pidns"},
	{"Identity and environment", "--uid --gid --id-map --hostname --chdir --clearenv --setenv --unsetenv"},
	{"Filesystem (applied in order)", "--bind --bind-try --dev-bind --dev-bind-try --ro-bind --ro-bind-try --bind-fd --ro-bind-fd --remount-ro --overlay-src --overlay --tmp-overlay --ro-overlay --exec-label --file-label --proc --dev --tmpfs --mqueue --dir --file --bind-data --ro-bind-data --symlink --chmod --perms --size --lock-file"},
	{"Process", "--sync-fd --seccomp --add-seccomp-fd --block-fd --userns-block-fd --info-fd --json-status-fd --new-session --die-with-parent --as-pid-1 --cap-add --cap-drop"},
}

var argNames = map[string]string{
	"--args": "FD", "--argv0": "VALUE", "--userns": "FD", "--userns2": "FD", "--pidns": "FD",
	"--uid": "UID", "--gid": "GID", "--id-map": "MODE", "--hostname": "NAME", "--chdir": "DIR",
	"--setenv": "VAR VALUE", "--unsetenv": "VAR", "--lock-file": "DEST", "--sync-fd": "FD",
	"--bind-fd": "FD DEST", "--ro-bind-fd": "FD DEST", "--remount-ro": "DEST", "--overlay-src": "SRC",
	"--overlay": "RWSRC WORKDIR DEST", "--tmp-overlay": "DEST", "--ro-overlay": "DEST",
	"--exec-label": "LABEL", "--file-label": "LABEL", "--proc": "DEST", "--dev": "DEST", "--tmpfs": "DEST",
	"--mqueue": "DEST", "--dir": "DEST", "--file": "FD DEST", "--bind-data": "FD DEST",
	"--ro-bind-data": "FD DEST", "--symlink": "TARGET DEST", "--chmod": "OCTAL PATH", "--perms": "OCTAL",
	"--size": "BYTES", "--seccomp": "FD", "--add-seccomp-fd": "FD", "--block-fd": "FD",
	"--userns-block-fd": "FD", "--info-fd": "FD", "--json-status-fd": "FD", "--cap-add": "CAP", "--cap-drop": "CAP",
}

// Help returns the --help text for the personality; prog is argv[0].
func Help(p Personality, prog string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s [OPTIONS...] [--] COMMAND [ARGS...]\n", prog)
	if p == Sandbox {
		b.WriteString("\nRun COMMAND in new namespaces with only what the options grant.\n" +
			"Binds take SRC [DEST]; DEST defaults to SRC. Unless --no-defaults: all namespaces\n" +
			"(--share-net keeps the network), /proc, a minimal /dev, a fresh /tmp, the /bin, /lib...\n" +
			"symlinks when /usr is bound, the working directory bound read-only, --die-with-parent.\n" +
			"Exit status: the program's own; 125 sandbox failure; 126 cannot execute; 127 not found.\n")
	}
	for _, g := range helpOrder {
		if p == Sandbox {
			fmt.Fprintf(&b, "\n%s:\n", g.group)
		} else if g.group == "General" {
			b.WriteString("\n")
		}
		for _, name := range strings.Fields(g.names) {
			f := flagTable[name]
			if f.only != "" && f.only != p {
				continue
			}
			arg := argNames[name]
			if f.oneOrTwo {
				arg = "SRC DEST"
				if p == Sandbox {
					arg = "SRC [DEST]"
				}
			}
			left := name
			if arg != "" {
				left += " " + arg
			}
			fmt.Fprintf(&b, "    %-28s %s\n", left, f.help)
		}
	}
	return b.String()
}
