package spec

import (
	"fmt"
	"path"
	"strings"
	"sync"
)

// flagDef describes one option: how many values it takes and what it does.
type flagDef struct {
	n int
	// oneOrTwo: in the sandbox personality the destination may be omitted.
	oneOrTwo bool
	// overlaySrc: may follow --overlay-src.
	overlaySrc bool
	// usesPerms / usesSize: accepts a preceding --perms / --size.
	usesPerms bool
	usesSize  bool
	// only limits the flag to one personality ("" for both).
	only Personality
	// missing is bubblewrap's message when the values are missing, where it
	// differs from the generic "takes an argument".
	missing string
	// unsupported explains why the flag cannot work yet.
	unsupported string
	apply       func(ps *parser, name string, v []string) error
	help        string
}

// flags returns the option table, built on first use: the stages run from
// the same binary and never parse a command line, so they do not pay for it
// at start-up (a map literal this size is built by code at init time).
var flags = sync.OnceValue(func() map[string]flagDef {
	flagTable := map[string]flagDef{
		"--help":    {apply: func(ps *parser, _ string, _ []string) error { ps.action = ActionHelp; return nil }, help: "Show this text"},
		"--version": {apply: func(ps *parser, _ string, _ []string) error { ps.action = ActionVersion; return nil }, help: "Show the version"},
		"--args":    {n: 1, help: "Read more options from FD (NUL-separated), in place"},
		"--argv0":   {n: 1, missing: "--argv0 takes one argument", apply: argv0, help: "argv[0] the program sees"},
		"--level-prefix": {apply: func(ps *parser, _ string, _ []string) error { ps.s.LevelPrefix = true; return nil },
			help: "Start each message with its syslog level, e.g. <3>"},

		"--unshare-all": {apply: ns(func(ps *parser) {
			n := &ps.s.Namespaces
			n.UserTry, n.IPC, n.PID, n.UTS, n.CgroupTry, n.Net = true, true, true, true, true, true
			ps.s.ShareNet = false
		}), help: "New namespaces of every kind (the default here)"},
		"--share-net":              {apply: ns(func(ps *parser) { ps.s.Namespaces.Net = false; ps.s.ShareNet = true }), help: "Keep the host's network"},
		"--unshare-user":           {apply: ns(func(ps *parser) { ps.s.Namespaces.User = true }), help: "New user namespace (always, here)"},
		"--unshare-user-try":       {apply: ns(func(ps *parser) { ps.s.Namespaces.UserTry = true }), help: "New user namespace if the host allows one"},
		"--unshare-ipc":            {apply: ns(func(ps *parser) { ps.s.Namespaces.IPC = true }), help: "New IPC namespace"},
		"--unshare-pid":            {apply: ns(func(ps *parser) { ps.s.Namespaces.PID = true }), help: "New pid namespace"},
		"--unshare-net":            {apply: ns(func(ps *parser) { ps.s.Namespaces.Net = true; ps.s.ShareNet = false }), help: "New network namespace with only lo"},
		"--unshare-uts":            {apply: ns(func(ps *parser) { ps.s.Namespaces.UTS = true }), help: "New UTS namespace (hostname)"},
		"--unshare-cgroup":         {apply: ns(func(ps *parser) { ps.s.Namespaces.Cgroup = true }), help: "New cgroup namespace"},
		"--unshare-cgroup-try":     {apply: ns(func(ps *parser) { ps.s.Namespaces.CgroupTry = true }), help: "New cgroup namespace if the kernel has them"},
		"--userns":                 {n: 1, unsupported: "joining an existing user namespace from an fd is not supported yet: a multithreaded Go process cannot setns(2) into a user namespace", help: "Join this user namespace (not supported yet: Go cannot setns into one)"},
		"--userns2":                {n: 1, unsupported: "joining an existing user namespace from an fd is not supported yet: a multithreaded Go process cannot setns(2) into a user namespace", help: "Switch to this user namespace after setup (not supported yet)"},
		"--pidns":                  {n: 1, unsupported: "joining an existing pid namespace from an fd is not supported yet", help: "Join this pid namespace (not supported yet)"},
		"--disable-userns":         {apply: setBool(func(s *Spec) *bool { return &s.DisableUserns }), help: "Forbid creating user namespaces inside"},
		"--assert-userns-disabled": {apply: setBool(func(s *Spec) *bool { return &s.AssertUsernsDisabled }), help: "Fail unless creating user namespaces inside is impossible"},

		"--uid":      {n: 1, apply: setID("--uid", func(s *Spec) *int { return &s.UID }), help: "uid the program sees"},
		"--gid":      {n: 1, apply: setID("--gid", func(s *Spec) *int { return &s.GID }), help: "gid the program sees"},
		"--hostname": {n: 1, apply: func(ps *parser, _ string, v []string) error { ps.s.Hostname, ps.s.HostnameSet = v[0], true; return nil }, help: "Hostname inside (default: sandbox)"},
		"--chdir":    {n: 1, missing: "--chdir takes one argument", apply: setString(func(s *Spec) *string { return &s.Chdir }), help: "Working directory inside"},
		"--clearenv": {apply: func(ps *parser, _ string, _ []string) error {
			ps.s.Env = append(ps.s.Env, EnvOp{Kind: EnvClear})
			return nil
		}, help: "Unset all environment variables"},
		"--setenv": {n: 2, apply: func(ps *parser, name string, v []string) error {
			if err := ps.checkEnvName(name, v[0]); err != nil {
				return err
			}
			ps.s.Env = append(ps.s.Env, EnvOp{Kind: EnvSet, Name: v[0], Value: v[1]})
			return nil
		}, help: "Set an environment variable"},
		"--unsetenv": {n: 1, apply: func(ps *parser, name string, v []string) error {
			if err := ps.checkEnvName(name, v[0]); err != nil {
				return err
			}
			ps.s.Env = append(ps.s.Env, EnvOp{Kind: EnvUnset, Name: v[0]})
			return nil
		}, help: "Unset an environment variable"},
		"--lock-file": {n: 1, apply: func(ps *parser, _ string, v []string) error {
			ps.addOp(Op{Kind: OpLockFile, Dest: v[0], FD: NoFD, Perms: -1})
			return nil
		}, help: "Take a lock on DEST while sandbox is running"},
		"--sync-fd": {n: 1, apply: setFD("--sync-fd", func(s *Spec) *int { return &s.SyncFD }), help: "Keep FD open while the sandbox runs"},

		"--bind":         {n: 2, oneOrTwo: true, apply: bindOp(OpBind, false), help: "Bind host SRC at DEST, writable"},
		"--bind-try":     {n: 2, oneOrTwo: true, apply: bindOp(OpBind, true), help: "--bind, skipped when SRC is missing"},
		"--dev-bind":     {n: 2, oneOrTwo: true, apply: bindOp(OpDevBind, false), help: "--bind that keeps device files usable"},
		"--dev-bind-try": {n: 2, oneOrTwo: true, apply: bindOp(OpDevBind, true), help: "--dev-bind, skipped when SRC is missing"},
		"--ro-bind":      {n: 2, oneOrTwo: true, apply: bindOp(OpROBind, false), help: "Bind host SRC at DEST read-only, submounts too"},
		"--ro-bind-try":  {n: 2, oneOrTwo: true, apply: bindOp(OpROBind, true), help: "--ro-bind, skipped when SRC is missing"},
		"--bind-fd":      {n: 2, apply: fdOp(OpBindFD, false), help: "Bind the directory open on FD at DEST"},
		"--ro-bind-fd":   {n: 2, missing: "--bind-fd takes two arguments", apply: fdOp(OpROBindFD, false), help: "Bind the directory open on FD at DEST read-only"},
		"--remount-ro":   {n: 1, missing: "--remount-ro takes one argument", apply: destOp(OpRemountRO, false), help: "Make the mount at DEST read-only (not its submounts)"},
		"--overlay-src":  {n: 1, overlaySrc: true, apply: overlaySrc, help: "Lower layer for the next overlay"},
		"--overlay":      {n: 3, overlaySrc: true, apply: overlayOp(OpOverlay), help: "Overlay on DEST writing to RWSRC (WORKDIR: empty, same fs)"},
		"--tmp-overlay":  {n: 1, overlaySrc: true, apply: overlayOp(OpTmpOverlay), help: "Overlay on DEST whose writes vanish with the sandbox"},
		"--ro-overlay":   {n: 1, overlaySrc: true, apply: overlayOp(OpROOverlay), help: "Read-only overlay on DEST"},
		"--exec-label":   {n: 1, apply: noLabels, help: "SELinux exec label (not supported)"},
		"--file-label":   {n: 1, apply: noLabels, help: "SELinux file label (not supported)"},
		"--proc":         {n: 1, apply: destOp(OpProc, false), help: "New /proc at DEST"},
		"--dev":          {n: 1, apply: destOp(OpDev, false), help: "Minimal /dev at DEST"},
		"--tmpfs":        {n: 1, usesPerms: true, usesSize: true, apply: destOp(OpTmpfs, true), help: "Empty tmpfs at DEST"},
		"--mqueue":       {n: 1, apply: destOp(OpMqueue, false), help: "POSIX message queue fs at DEST"},
		"--dir":          {n: 1, usesPerms: true, apply: destOp(OpDir, true), help: "Create directory DEST"},
		"--file":         {n: 2, usesPerms: true, apply: fdOp(OpFile, true), help: "Create DEST with the data read from FD"},
		"--bind-data":    {n: 2, usesPerms: true, apply: fdOp(OpBindData, true), help: "Bind a file holding FD's data at DEST"},
		"--ro-bind-data": {n: 2, usesPerms: true, apply: fdOp(OpROBindData, true), help: "Bind a file holding FD's data at DEST read-only"},
		"--symlink":      {n: 2, apply: symlinkOp, help: "Create symlink DEST pointing to TARGET"},
		"--chmod":        {n: 2, apply: chmodOp, help: "Change the mode of existing PATH"},
		"--perms":        {n: 1, apply: permsMod, help: "Mode of the next --dir, --tmpfs, --file or --bind-data"},
		"--size":         {n: 1, apply: sizeMod, help: "Size of the next --tmpfs (e.g. 64M)"},
		"--seccomp": {n: 1, apply: func(ps *parser, name string, v []string) error {
			fd, err := ps.parseFD(name, v[0])
			if err != nil {
				return err
			}
			if ps.seen["--add-seccomp-fd"] {
				return usagef(name, "--seccomp cannot be combined with --add-seccomp-fd")
			}
			ps.s.SeccompFDs = []int{fd} // the last --seccomp wins
			return nil
		}, help: "Also apply the seccomp program (struct sock_filter[]) read from FD"},
		"--add-seccomp-fd": {n: 1, apply: func(ps *parser, name string, v []string) error {
			fd, err := ps.parseFD(name, v[0])
			if err != nil {
				return err
			}
			if ps.seen["--seccomp"] {
				return usagef(name, "--add-seccomp-fd cannot be combined with --seccomp")
			}
			ps.s.SeccompFDs = append(ps.s.SeccompFDs, fd)
			return nil
		}, help: "Also apply this seccomp program from FD (repeatable)"},
		"--allow": {only: Sandbox, n: 1, apply: func(ps *parser, name string, v []string) error {
			for _, g := range strings.Split(v[0], ",") {
				if g != "" {
					ps.s.Allow = append(ps.s.Allow, g)
				}
			}
			return nil
		}, help: "Loosen the default seccomp policy by group (see --print-policy), e.g. ptrace"},
		"--net": {only: Sandbox, n: 1, apply: func(ps *parser, name string, v []string) error {
			switch m := NetMode(v[0]); m {
			case NetNone, NetUser:
				ps.s.Net.Mode, ps.s.Namespaces.Net, ps.s.ShareNet = m, true, false
			case NetHost:
				ps.s.Net.Mode, ps.s.Namespaces.Net, ps.s.ShareNet = m, false, true
			default:
				return &UsageError{Flag: name, Msg: fmt.Sprintf("%s: unknown mode %q", name, v[0]), Hint: "use none (only lo), user (user-mode networking) or host (the host's network)"}
			}
			return nil
		}, help: "none (only lo, the default), user (user-mode networking) or host"},
		"--net-backend": {only: Sandbox, n: 1, apply: func(ps *parser, name string, v []string) error {
			switch v[0] {
			case BackendNetstack, BackendSlirp4netns, BackendPasta:
				ps.s.Net.Backend = v[0]
				return nil
			}
			return &UsageError{Flag: name, Msg: fmt.Sprintf("%s: unknown backend %q", name, v[0]), Hint: "use netstack (built in), slirp4netns or pasta"}
		}, help: "Stack for --net user: netstack (built in, default), slirp4netns or pasta"},
		"--publish": {only: Sandbox, n: 1, apply: publishFlag, help: "Forward a host port to the sandbox: [hostip:]hostport:sandboxport[/tcp|/udp]"},
		"-p":        {only: Sandbox, n: 1, apply: publishFlag, help: "Same as --publish"},
		"--net-allow": {only: Sandbox, n: 1, apply: func(ps *parser, _ string, v []string) error {
			ps.s.Net.Allow = append(ps.s.Net.Allow, v[0])
			return nil
		}, help: "Allow egress to an IP, CIDR, port or domain (a domain turns on allowlist mode)"},
		"--net-deny": {only: Sandbox, n: 1, apply: func(ps *parser, _ string, v []string) error {
			ps.s.Net.Deny = append(ps.s.Net.Deny, v[0])
			return nil
		}, help: "Refuse egress to an IP, CIDR, port or domain"},
		"--net-allow-host-loopback": {only: Sandbox, apply: func(ps *parser, _ string, _ []string) error {
			ps.s.Net.AllowHostLoopback = true
			return nil
		}, help: "Let the sandbox reach the host's 127.0.0.1 at 10.0.2.2"},
		"--net-log": {only: Sandbox, n: 1, apply: func(ps *parser, _ string, v []string) error {
			ps.s.Net.Log = v[0]
			return nil
		}, help: "Append every refused connection to FILE as a JSON line"},
		"--net-dns": {only: Sandbox, n: 1, apply: func(ps *parser, _ string, v []string) error {
			ps.s.Net.DNS = append(ps.s.Net.DNS, v[0])
			return nil
		}, help: "Upstream DNS server for the sandbox's resolver (default: the host's)"},
		"--no-landlock":  {only: Sandbox, apply: setBool(func(s *Spec) *bool { return &s.NoLandlock }), help: "Do not add Landlock filesystem rules behind the mount namespace"},
		"--print-policy": {only: Sandbox, apply: func(ps *parser, _ string, _ []string) error { ps.action = ActionPrintPolicy; return nil }, help: "Print the seccomp policy in words and exit"},
		"--block-fd":     {n: 1, apply: setFD("--block-fd", func(s *Spec) *int { return &s.BlockFD }), help: "Wait for a byte (or EOF) on FD before running the program"},
		"--userns-block-fd": {n: 1, apply: setFD("--userns-block-fd", func(s *Spec) *int { return &s.UsernsBlockFD }),
			help: "Wait on FD before the id maps are written (the caller writes them)"},
		"--info-fd":         {n: 1, apply: setFD("--info-fd", func(s *Spec) *int { return &s.InfoFD }), help: "Write the sandbox's pid and namespace ids to FD as JSON"},
		"--json-status-fd":  {n: 1, apply: setFD("--json-status-fd", func(s *Spec) *int { return &s.JSONStatusFD }), help: "Write JSON status lines to FD, the exit code last"},
		"--new-session":     {apply: setBool(func(s *Spec) *bool { return &s.NewSession }), help: "Run the program in a new session (no controlling terminal)"},
		"--die-with-parent": {apply: setBool(func(s *Spec) *bool { return &s.DieWithParent }), help: "Kill the sandbox when its caller dies (the default here)"},
		"--as-pid-1":        {apply: setBool(func(s *Spec) *bool { return &s.AsPID1 }), help: "Run the program as pid 1, without a reaper"},
		"--cap-add":         {n: 1, apply: capOp(true), help: "Keep capability CAP (or ALL)"},
		"--cap-drop":        {n: 1, apply: capOp(false), help: "Drop capability CAP (or ALL)"},

		// The sandbox personality's own options.
		"--verbose":     {only: Sandbox, apply: setBool(func(s *Spec) *bool { return &s.Verbose }), help: "Say which defaults were added and how ids are mapped"},
		"--no-defaults": {only: Sandbox, apply: setBool(func(s *Spec) *bool { return &s.NoDefaults }), help: "Add nothing that was not asked for"},
		"--id-map": {only: Sandbox, n: 1, apply: func(ps *parser, name string, v []string) error {
			switch m := IDMapMode(v[0]); m {
			case IDMapAuto, IDMapSingle, IDMapRange:
				ps.s.IDMap = m
				return nil
			}
			return &UsageError{Flag: name, Msg: fmt.Sprintf("%s: unknown mode %q", name, v[0]), Hint: "use auto (ranges when configured), single (one id, as bwrap) or range (require subordinate ranges)"}
		}, help: "auto|single|range: how ids are mapped (default auto)"},
	}
	for name, f := range limitFlags() {
		flagTable[name] = f
	}
	for name, f := range flagTable {
		if f.unsupported != "" {
			msg := f.unsupported
			f.apply = func(ps *parser, _ string, _ []string) error {
				return &UsageError{Flag: name, Msg: name + ": " + msg, Hint: "see sandbox --help"}
			}
			flagTable[name] = f
		}
	}
	return flagTable
})

func publishFlag(ps *parser, name string, v []string) error {
	p, err := ParsePublish(v[0])
	if err != nil {
		return &UsageError{Flag: name, Msg: fmt.Sprintf("%s %s: %v", name, v[0], err), Hint: "e.g. -p 8080:80 or -p 0.0.0.0:8443:443/tcp"}
	}
	ps.s.Net.Publish = append(ps.s.Net.Publish, p)
	return nil
}

// checkEnvName refuses what setenv(3) refuses: an empty name or one with '='.
func (ps *parser) checkEnvName(flag, name string) error {
	if name != "" && !strings.Contains(name, "=") {
		return nil
	}
	if ps.p == Bwrap {
		return usagef(flag, "%s failed", strings.TrimPrefix(flag, "--"))
	}
	return &UsageError{Flag: flag, Msg: fmt.Sprintf("%s: invalid variable name %q", flag, name), Hint: "a name is non-empty and has no '='"}
}

func ns(set func(ps *parser)) func(*parser, string, []string) error {
	return func(ps *parser, _ string, _ []string) error { set(ps); return nil }
}

func setBool(field func(*Spec) *bool) func(*parser, string, []string) error {
	return func(ps *parser, _ string, _ []string) error { *field(ps.s) = true; return nil }
}

func setString(field func(*Spec) *string) func(*parser, string, []string) error {
	return func(ps *parser, _ string, v []string) error { *field(ps.s) = v[0]; return nil }
}

func setFD(flag string, field func(*Spec) *int) func(*parser, string, []string) error {
	return func(ps *parser, _ string, v []string) error {
		fd, err := ps.parseFD(flag, v[0])
		if err != nil {
			return err
		}
		*field(ps.s) = fd
		return nil
	}
}

func setID(flag string, field func(*Spec) *int) func(*parser, string, []string) error {
	return func(ps *parser, _ string, v []string) error {
		id, ok := cNonNegative(v[0], 0xfffffffe)
		if !ok {
			if ps.p == Bwrap {
				return usagef(flag, "Invalid %s: %s", strings.TrimPrefix(flag, "--"), v[0])
			}
			return &UsageError{Flag: flag, Msg: fmt.Sprintf("%s: invalid id %q", flag, v[0]), Hint: "give a number, e.g. " + flag + " 0"}
		}
		*field(ps.s) = int(id)
		return nil
	}
}

// dest returns the destination: v[1], or v[0] when the sandbox personality's
// single-argument form was used.
func dest(v []string) (src, dst string) {
	if len(v) == 1 {
		return v[0], v[0]
	}
	return v[0], v[1]
}

func bindOp(kind OpKind, try bool) func(*parser, string, []string) error {
	return func(ps *parser, _ string, v []string) error {
		src, dst := dest(v)
		ps.addOp(Op{Kind: kind, Source: src, Dest: dst, Try: try, FD: NoFD, Perms: -1})
		return nil
	}
}

func destOp(kind OpKind, usesPerms bool) func(*parser, string, []string) error {
	return func(ps *parser, _ string, v []string) error {
		op := Op{Kind: kind, Dest: v[0], FD: NoFD, Perms: -1}
		if usesPerms {
			op.Perms = ps.takePerms(-1)
		}
		if kind == OpTmpfs {
			op.Size = ps.takeSize()
		}
		ps.addOp(op)
		return nil
	}
}

func fdOp(kind OpKind, usesPerms bool) func(*parser, string, []string) error {
	return func(ps *parser, name string, v []string) error {
		fd, err := ps.parseFD(name, v[0])
		if err != nil {
			return err
		}
		op := Op{Kind: kind, Dest: v[1], FD: fd, Perms: -1}
		if usesPerms {
			op.Perms = ps.takePerms(-1)
		}
		ps.addOp(op)
		return nil
	}
}

func symlinkOp(ps *parser, _ string, v []string) error {
	ps.addOp(Op{Kind: OpSymlink, Source: v[0], Dest: v[1], FD: NoFD, Perms: -1})
	return nil
}

func chmodOp(ps *parser, name string, v []string) error {
	mode, err := parseMode(v[0])
	if err != nil {
		if ps.p == Bwrap {
			return usagef(name, "--chmod takes an octal argument <= 07777")
		}
		return &UsageError{Flag: name, Msg: fmt.Sprintf("--chmod: invalid mode %q", v[0]), Hint: "give an octal mode such as 0755"}
	}
	ps.addOp(Op{Kind: OpChmod, Dest: v[1], FD: NoFD, Perms: mode})
	return nil
}

func permsMod(ps *parser, name string, v []string) error {
	if ps.permsSet {
		return usagef(name, "--perms given twice for the same action")
	}
	mode, err := parseMode(v[0])
	if err != nil {
		if ps.p == Bwrap {
			return usagef(name, "--perms takes an octal argument <= 07777")
		}
		return &UsageError{Flag: name, Msg: fmt.Sprintf("--perms: invalid mode %q", v[0]), Hint: "give an octal mode such as 0700"}
	}
	ps.perms, ps.permsSet = mode, true
	return nil
}

func sizeMod(ps *parser, name string, v []string) error {
	if ps.sizeSet {
		return usagef(name, "--size given twice for the same action")
	}
	n, err := ParseSize(v[0], ps.p == Bwrap)
	if err != nil {
		if ps.p == Bwrap {
			if err == errSizeTooLarge {
				return usagef(name, "--size (for tmpfs) is limited to %d", int64(1<<63-1))
			}
			return usagef(name, "--size takes a non-zero number of bytes")
		}
		return &UsageError{Flag: name, Msg: fmt.Sprintf("--size: %v", err), Hint: "give bytes or a size with a unit, e.g. 64M or 1G"}
	}
	ps.size, ps.sizeSet = n, true
	return nil
}

func overlaySrc(ps *parser, _ string, v []string) error {
	ps.overlaySrcs = append(ps.overlaySrcs, v[0])
	return nil
}

func overlayOp(kind OpKind) func(*parser, string, []string) error {
	return func(ps *parser, name string, v []string) error {
		if kind == OpROOverlay && len(ps.overlaySrcs) < 2 {
			return usagef(name, "--ro-overlay requires at least two --overlay-src")
		}
		if len(ps.overlaySrcs) == 0 {
			return usagef(name, "%s requires at least one --overlay-src", name)
		}
		// overlayfs lists the top layer first; --overlay-src lists the bottom first.
		lower := make([]string, len(ps.overlaySrcs))
		for i, s := range ps.overlaySrcs {
			lower[len(lower)-1-i] = s
		}
		ps.overlaySrcs = nil
		op := Op{Kind: kind, Lower: lower, FD: NoFD, Perms: -1}
		switch kind {
		case OpOverlay:
			op.Source, op.Work, op.Dest = v[0], v[1], v[2]
		default:
			op.Dest = v[0]
		}
		ps.addOp(op)
		return nil
	}
}

func argv0(ps *parser, name string, v []string) error {
	if ps.seen["--argv0-set"] {
		return usagef(name, "--argv0 used multiple times")
	}
	ps.seen["--argv0-set"] = true
	ps.s.Argv0 = v[0]
	return nil
}

// noLabels refuses SELinux labels, which are not implemented, with
// bubblewrap's message for a host without SELinux.
func noLabels(ps *parser, name string, _ []string) error {
	if ps.p == Bwrap {
		return usagef(name, "labeling not supported on this system")
	}
	return &UsageError{Flag: name, Msg: name + ": SELinux labelling is not supported", Hint: "drop " + name}
}

func capOp(add bool) func(*parser, string, []string) error {
	return func(ps *parser, name string, v []string) error {
		c, ok := CanonicalCap(v[0], ps.p == Bwrap)
		if !ok {
			if ps.p == Bwrap {
				return usagef(name, "unknown cap: %s", v[0])
			}
			return &UsageError{Flag: name, Msg: fmt.Sprintf("%s: unknown capability %q", name, v[0]), Hint: "use a name such as CAP_NET_ADMIN (see capabilities(7)) or ALL"}
		}
		ps.s.Caps = append(ps.s.Caps, CapOp{Add: add, Name: c})
		return nil
	}
}

// parseMode parses an octal permission mode up to 07777 (as strtoul does:
// a '-' sign wraps around and is refused by the bound).
func parseMode(s string) (int, error) {
	m, neg, ok := cNumber(s, 8)
	if !ok || (neg && m != 0) || m > 07777 {
		return 0, fmt.Errorf("invalid mode %q", s)
	}
	return int(m), nil
}

// cleanDest normalises a sandbox path for comparisons.
func cleanDest(p string) string { return path.Clean("/" + p) }
