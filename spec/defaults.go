package spec

import (
	"path"
	"strings"
)

// Host is what the sandbox personality's defaults depend on, gathered by the
// caller so that ApplyDefaults stays pure.
type Host struct {
	// Cwd is the caller's working directory.
	Cwd string
	// Home is the caller's home directory; it is never bound by default.
	Home string
	// MergedUsr maps top-level paths that are symlinks into /usr on the host
	// to their link text, e.g. "/bin" -> "usr/bin".
	MergedUsr map[string]string
}

// UserNetDNS is the resolver's address inside a --net user sandbox.
const UserNetDNS = "10.0.2.3"

// DefaultHostname is the hostname the sandbox personality gives a new UTS
// namespace when none is asked for.
const DefaultHostname = "sandbox"

// ApplyDefaults adds the sandbox personality's defaults to s unless
// --no-defaults was given, and returns one line per default added (for
// --verbose). The bwrap personality gets nothing.
//
// Defaults: every namespace unshared (the network unless --share-net), a
// hostname, die-with-parent, /proc, a minimal /dev, a fresh /tmp, the
// merged-/usr symlinks when /usr is bound, and the working directory bound
// read-only and used as the working directory.
func ApplyDefaults(s *Spec, h Host) []string {
	if s.Personality != Sandbox || s.NoDefaults {
		return nil
	}
	var notes []string
	defaultNamespaces(s)
	if !s.HostnameSet {
		s.Hostname, s.HostnameSet = DefaultHostname, true
	}
	s.DieWithParent = true

	for _, d := range []Op{
		{Kind: OpProc, Dest: "/proc"},
		{Kind: OpDev, Dest: "/dev"},
		{Kind: OpTmpfs, Dest: "/tmp"},
	} {
		d.FD, d.Perms, d.Default = NoFD, -1, true
		if insertDefault(s, d) {
			notes = append(notes, "--"+string(d.Kind)+" "+d.Dest)
		}
	}
	if usrBound(s) {
		for _, top := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
			target, ok := h.MergedUsr[top]
			if !ok {
				continue
			}
			d := Op{Kind: OpSymlink, Source: target, Dest: top, FD: NoFD, Perms: -1, Default: true}
			if insertDefault(s, d) {
				notes = append(notes, "--symlink "+target+" "+top)
			}
		}
	}
	// The defaults above may hide the working directory (a fresh /tmp over
	// --ro-bind / /), so visibility is judged on every op so far.
	cwdBound := h.Cwd != "" && boundByUser(s, h.Cwd)
	switch {
	case h.Cwd == "" || cwdBound:
	case h.Cwd == "/" || (h.Home != "" && (h.Cwd == cleanDest(h.Home) || isStrictAncestor(h.Cwd, cleanDest(h.Home)))):
		// Binding / or the home directory (with its keys and tokens) would
		// grant far more than a working directory: ask for it explicitly.
		s.Warnings = append(s.Warnings, "not binding the working directory "+h.Cwd+
			" (it is / or holds your home directory); bind it explicitly with --ro-bind "+h.Cwd+" if the program needs it")
	default:
		s.Ops = append(s.Ops, Op{Kind: OpROBind, Source: h.Cwd, Dest: h.Cwd, FD: NoFD, Perms: -1, Default: true, Try: true})
		notes = append(notes, "--ro-bind "+h.Cwd+" "+h.Cwd)
		cwdBound = true
	}
	if s.Net.Mode == NetUser {
		// The sandbox's own resolver; last, so that a bound /etc does not
		// hide it.
		s.Ops = append(s.Ops, Op{Kind: OpROBindData, Dest: "/etc/resolv.conf", FD: NoFD, Perms: 0o644, Default: true,
			Data: []byte("nameserver " + UserNetDNS + "\n")})
		notes = append(notes, "--ro-bind-data (nameserver "+UserNetDNS+") /etc/resolv.conf")
	}
	if s.Chdir == "" && cwdBound {
		s.Chdir = h.Cwd
		notes = append(notes, "--chdir "+h.Cwd)
	}
	return notes
}

// insertDefault places a default op after the last op whose destination is a
// strict ancestor of its own (so --ro-bind / / does not hide the default
// /proc), and before anything mounted below it. A user op at the same
// destination replaces the default. It reports whether the op was added.
func insertDefault(s *Spec, d Op) bool {
	at := 0
	for i, op := range s.Ops {
		dst := cleanDest(op.Dest)
		if dst == d.Dest && replacesDefault(op.Kind) {
			return false
		}
		if isStrictAncestor(dst, d.Dest) {
			at = i + 1
		}
	}
	s.Ops = append(s.Ops, Op{})
	copy(s.Ops[at+1:], s.Ops[at:])
	s.Ops[at] = d
	return true
}

// replacesDefault: a user op of this kind at a default's path stands in for
// the default. --remount-ro, --chmod and --lock-file act on what is already
// there, so they do not.
func replacesDefault(k OpKind) bool {
	return k != OpRemountRO && k != OpChmod && k != OpLockFile
}

func usrBound(s *Spec) bool {
	for _, op := range s.Ops {
		if cleanDest(op.Dest) == "/usr" && path.Clean(op.Source) == "/usr" &&
			(op.Kind == OpROBind || op.Kind == OpBind || op.Kind == OpDevBind) {
			return true
		}
	}
	return false
}

// boundByUser reports whether the ops leave p visible as the host's p: the
// last op whose destination covers p decides (a later --tmpfs over it hides
// an earlier bind). Default ops count: a default /tmp hides what a user's
// --ro-bind / / showed there.
func boundByUser(s *Spec, p string) bool {
	bound := false
	for _, op := range s.Ops {
		if op.Kind == OpRemountRO || op.Kind == OpChmod || op.Kind == OpLockFile || op.Kind == OpSymlink || op.Kind == OpDir {
			continue
		}
		dst := cleanDest(op.Dest)
		if dst != p && !isStrictAncestor(dst, p) {
			continue
		}
		switch op.Kind {
		case OpBind, OpROBind, OpDevBind:
			bound = cleanDest(op.Source) == dst
		default:
			bound = false
		}
	}
	return bound
}

func isStrictAncestor(a, b string) bool {
	if a == "/" {
		return b != "/"
	}
	return strings.HasPrefix(b, a+"/")
}
