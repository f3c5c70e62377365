package spec

import (
	"fmt"
	"strings"
	"sync"
)

// helpOrder is the order of options in --help, grouped as in the README.
var helpOrder = []struct{ group, names string }{
	{"General", "--help --version --args --argv0 --level-prefix --verbose --no-defaults"},
	{"Namespaces", "--unshare-all --share-net --unshare-user --unshare-user-try --unshare-ipc --unshare-pid --unshare-net --unshare-uts --unshare-cgroup --unshare-cgroup-try --userns --userns2 --pidns"},
	{"Identity and environment", "--uid --gid --id-map --hostname --chdir --clearenv --setenv --unsetenv"},
	{"Filesystem (applied in order)", "--bind --bind-try --dev-bind --dev-bind-try --ro-bind --ro-bind-try --bind-fd --ro-bind-fd --remount-ro --overlay-src --overlay --tmp-overlay --ro-overlay --exec-label --file-label --proc --dev --tmpfs --mqueue --dir --file --bind-data --ro-bind-data --symlink --chmod --perms --size --lock-file"},
	{"Network", "--net --net-backend --publish -p --net-allow --net-deny --net-allow-host-loopback --net-log --net-dns"},
	{"Resource limits", "--memory --memory-high --memory-swap --cpus --pids --io-weight --cpu-weight --timeout --timeout-grace --rlimit --limits"},
	{"Security", "--cap-add --cap-drop --allow --print-policy --no-landlock --seccomp --add-seccomp-fd --disable-userns --assert-userns-disabled"},
	{"Process", "--sync-fd --block-fd --userns-block-fd --info-fd --json-status-fd --new-session --die-with-parent --as-pid-1"},
}

var argNames = sync.OnceValue(func() map[string]string {
	return map[string]string{
		"--args": "FD", "--argv0": "VALUE", "--userns": "FD", "--userns2": "FD", "--pidns": "FD",
		"--uid": "UID", "--gid": "GID", "--id-map": "MODE", "--hostname": "NAME", "--chdir": "DIR",
		"--setenv": "VAR VALUE", "--unsetenv": "VAR", "--lock-file": "DEST", "--sync-fd": "FD",
		"--bind-fd": "FD DEST", "--ro-bind-fd": "FD DEST", "--remount-ro": "DEST", "--overlay-src": "SRC",
		"--overlay": "RWSRC WORKDIR DEST", "--tmp-overlay": "DEST", "--ro-overlay": "DEST",
		"--exec-label": "LABEL", "--file-label": "LABEL", "--proc": "DEST", "--dev": "DEST", "--tmpfs": "DEST",
		"--mqueue": "DEST", "--dir": "DEST", "--file": "FD DEST", "--bind-data": "FD DEST",
		"--ro-bind-data": "FD DEST", "--symlink": "TARGET DEST", "--chmod": "OCTAL PATH", "--perms": "OCTAL",
		"--size": "BYTES", "--seccomp": "FD", "--add-seccomp-fd": "FD", "--block-fd": "FD",
		"--userns-block-fd": "FD", "--info-fd": "FD", "--allow": "GROUP[,GROUP...]", "--net": "MODE", "--net-backend": "NAME",
		"--publish": "[IP:]PORT:PORT[/PROTO]", "-p": "[IP:]PORT:PORT[/PROTO]", "--net-allow": "RULE", "--net-deny": "RULE",
		"--net-log": "FILE", "--net-dns": "IP[:PORT]", "--json-status-fd": "FD", "--cap-add": "CAP", "--cap-drop": "CAP",
		"--memory": "SIZE", "--memory-high": "SIZE", "--memory-swap": "SIZE", "--cpus": "N", "--pids": "N",
		"--io-weight": "N", "--cpu-weight": "N", "--timeout": "DURATION", "--timeout-grace": "DURATION",
		"--rlimit": "NAME=SOFT[:HARD]", "--limits": "MODE",
	}
})

// Help returns the --help text for the personality; prog is argv[0].
func Help(p Personality, prog string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s [OPTIONS...] [--] COMMAND [ARGS...]\n", prog)
	if p == Bwrap {
		b.WriteString("\n")
		for _, e := range bwrapHelp {
			desc := strings.ReplaceAll(e[1], "\n", "\n"+strings.Repeat(" ", 33))
			fmt.Fprintf(&b, "    %-28s %s\n", e[0], desc)
		}
		return b.String()
	}
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
			f := flags()[name]
			if f.only != "" && f.only != p {
				continue
			}
			arg := argNames()[name]
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

// bwrapHelp is the option list of bubblewrap 0.11's --help, in its order:
// callers and users of the bwrap personality see the text they know.
var bwrapHelp = [][2]string{
	{"--help", "Print this help"},
	{"--version", "Print version"},
	{"--args FD", "Parse NUL-separated args from FD"},
	{"--argv0 VALUE", "Set argv[0] to the value VALUE before running the program"},
	{"--level-prefix", "Prepend e.g. <3> to diagnostic messages"},
	{"--unshare-all", "Unshare every namespace we support by default"},
	{"--share-net", "Retain the network namespace (can only combine with --unshare-all)"},
	{"--unshare-user", "Create new user namespace (may be automatically implied if not setuid)"},
	{"--unshare-user-try", "Create new user namespace if possible else continue by skipping it"},
	{"--unshare-ipc", "Create new ipc namespace"},
	{"--unshare-pid", "Create new pid namespace"},
	{"--unshare-net", "Create new network namespace"},
	{"--unshare-uts", "Create new uts namespace"},
	{"--unshare-cgroup", "Create new cgroup namespace"},
	{"--unshare-cgroup-try", "Create new cgroup namespace if possible else continue by skipping it"},
	{"--userns FD", "Use this user namespace (cannot combine with --unshare-user)"},
	{"--userns2 FD", "After setup switch to this user namespace, only useful with --userns"},
	{"--disable-userns", "Disable further use of user namespaces inside sandbox"},
	{"--assert-userns-disabled", "Fail unless further use of user namespace inside sandbox is disabled"},
	{"--pidns FD", "Use this pid namespace (as parent namespace if using --unshare-pid)"},
	{"--uid UID", "Custom uid in the sandbox (requires --unshare-user or --userns)"},
	{"--gid GID", "Custom gid in the sandbox (requires --unshare-user or --userns)"},
	{"--hostname NAME", "Custom hostname in the sandbox (requires --unshare-uts)"},
	{"--chdir DIR", "Change directory to DIR"},
	{"--clearenv", "Unset all environment variables"},
	{"--setenv VAR VALUE", "Set an environment variable"},
	{"--unsetenv VAR", "Unset an environment variable"},
	{"--lock-file DEST", "Take a lock on DEST while sandbox is running"},
	{"--sync-fd FD", "Keep this fd open while sandbox is running"},
	{"--bind SRC DEST", "Bind mount the host path SRC on DEST"},
	{"--bind-try SRC DEST", "Equal to --bind but ignores non-existent SRC"},
	{"--dev-bind SRC DEST", "Bind mount the host path SRC on DEST, allowing device access"},
	{"--dev-bind-try SRC DEST", "Equal to --dev-bind but ignores non-existent SRC"},
	{"--ro-bind SRC DEST", "Bind mount the host path SRC readonly on DEST"},
	{"--ro-bind-try SRC DEST", "Equal to --ro-bind but ignores non-existent SRC"},
	{"--bind-fd FD DEST", "Bind open directory or path fd on DEST"},
	{"--ro-bind-fd FD DEST", "Bind open directory or path fd read-only on DEST"},
	{"--remount-ro DEST", "Remount DEST as readonly; does not recursively remount"},
	{"--overlay-src SRC", "Read files from SRC in the following overlay"},
	{"--overlay RWSRC WORKDIR DEST", "Mount overlayfs on DEST, with RWSRC as the host path for writes and\nWORKDIR an empty directory on the same filesystem as RWSRC"},
	{"--tmp-overlay DEST", "Mount overlayfs on DEST, with writes going to an invisible tmpfs"},
	{"--ro-overlay DEST", "Mount overlayfs read-only on DEST"},
	{"--exec-label LABEL", "Exec label for the sandbox"},
	{"--file-label LABEL", "File label for temporary sandbox content"},
	{"--proc DEST", "Mount new procfs on DEST"},
	{"--dev DEST", "Mount new dev on DEST"},
	{"--tmpfs DEST", "Mount new tmpfs on DEST"},
	{"--mqueue DEST", "Mount new mqueue on DEST"},
	{"--dir DEST", "Create dir at DEST"},
	{"--file FD DEST", "Copy from FD to destination DEST"},
	{"--bind-data FD DEST", "Copy from FD to file which is bind-mounted on DEST"},
	{"--ro-bind-data FD DEST", "Copy from FD to file which is readonly bind-mounted on DEST"},
	{"--symlink SRC DEST", "Create symlink at DEST with target SRC"},
	{"--seccomp FD", "Load and use seccomp rules from FD (not repeatable)"},
	{"--add-seccomp-fd FD", "Load and use seccomp rules from FD (repeatable)"},
	{"--block-fd FD", "Block on FD until some data to read is available"},
	{"--userns-block-fd FD", "Block on FD until the user namespace is ready"},
	{"--info-fd FD", "Write information about the running container to FD"},
	{"--json-status-fd FD", "Write container status to FD as multiple JSON documents"},
	{"--new-session", "Create a new terminal session"},
	{"--die-with-parent", "Kills with SIGKILL child process (COMMAND) when bwrap or bwrap's parent dies."},
	{"--as-pid-1", "Do not install a reaper process with PID=1"},
	{"--cap-add CAP", "Add cap CAP when running as privileged user"},
	{"--cap-drop CAP", "Drop cap CAP when running as privileged user"},
	{"--perms OCTAL", "Set permissions of next argument (--bind-data, --file, etc.)"},
	{"--size BYTES", "Set size of next argument (only for --tmpfs)"},
	{"--chmod OCTAL PATH", "Change permissions of PATH (must already exist)"},
}
