package spec

import (
	"fmt"
	"strings"
)

// Validate checks the rules that involve more than one option. Messages in
// the bwrap personality are bubblewrap's own; the sandbox personality names
// both flags and the fix.
func Validate(s *Spec, realUID, realGID int) error {
	ns := s.Namespaces
	userNS := ns.User
	type rule struct {
		bad        bool
		flag, need string
		bwrapMsg   string
	}
	rules := []rule{
		{s.UID >= 0 && s.UID != realUID && !userNS, "--uid", "--unshare-user", "Specifying --uid requires --unshare-user or --userns"},
		{s.GID >= 0 && s.GID != realGID && !userNS, "--gid", "--unshare-user", "Specifying --gid requires --unshare-user or --userns"},
		{s.HostnameSet && !ns.UTS, "--hostname", "--unshare-uts", "Specifying --hostname requires --unshare-uts"},
		{s.AsPID1 && !ns.PID, "--as-pid-1", "--unshare-pid", "Specifying --as-pid-1 requires --unshare-pid"},
		{s.AsPID1 && hasOp(s, OpLockFile), "--as-pid-1", "no --lock-file", "Specifying --as-pid-1 and --lock-file is not permitted"},
		// Sandbox personality only (the flag does not exist in bwrap's).
		{s.Limits.TimeoutGrace > 0 && s.Limits.Timeout == 0, "--timeout-grace", "--timeout", ""},
	}
	for _, r := range rules {
		if !r.bad {
			continue
		}
		if s.Personality == Bwrap {
			return &UsageError{Flag: r.flag, Msg: r.bwrapMsg}
		}
		return &UsageError{Flag: r.flag, Msg: fmt.Sprintf("%s requires %s", r.flag, r.need), Hint: "add " + r.need + " or drop " + r.flag}
	}
	for _, op := range s.Ops {
		if err := validateOp(s.Personality, op); err != nil {
			return err
		}
	}
	if err := validateNet(s); err != nil {
		return err
	}
	if strings.ContainsRune(s.Hostname, 0) {
		return &UsageError{Flag: "--hostname", Msg: "--hostname: name contains a NUL byte"}
	}
	return nil
}

// validateEarly runs the checks bubblewrap makes before it implies a user
// namespace: --userns-block-fd needs an explicit --unshare-user.
func validateEarly(s *Spec, seen map[string]bool) error {
	if s.DisableUserns && s.Personality == Bwrap && !seen["--unshare-user"] {
		return usagef("--disable-userns", "--disable-userns requires --unshare-user")
	}
	if s.DisableUserns && s.UsernsBlockFD != NoFD {
		return usagef("--disable-userns", "--disable-userns is not compatible with  --userns-block-fd")
	}
	if s.UsernsBlockFD == NoFD {
		return nil
	}
	if s.Personality == Bwrap && !seen["--unshare-user"] {
		return usagef("--userns-block-fd", "--userns-block-fd requires --unshare-user")
	}
	if s.InfoFD == NoFD {
		if s.Personality == Bwrap {
			return usagef("--userns-block-fd", "--userns-block-fd requires --info-fd")
		}
		return &UsageError{Flag: "--userns-block-fd", Msg: "--userns-block-fd requires --info-fd", Hint: "add --info-fd FD so the caller learns the sandbox's pid"}
	}
	return nil
}

func hasOp(s *Spec, k OpKind) bool {
	for _, op := range s.Ops {
		if op.Kind == k {
			return true
		}
	}
	return false
}

func validateOp(p Personality, op Op) error {
	if p == Bwrap {
		return nil // bubblewrap accepts any path here and fails, if at all, in setup
	}
	flag := "--" + string(op.Kind)
	if op.Kind != OpSymlink && op.Source == "" && (op.Kind == OpBind || op.Kind == OpROBind || op.Kind == OpDevBind) {
		return &UsageError{Flag: flag, Msg: fmt.Sprintf("%s: empty source path", flag)}
	}
	if op.Dest == "" && op.Kind != OpOverlay {
		return &UsageError{Flag: flag, Msg: fmt.Sprintf("%s: empty destination path", flag)}
	}
	if p == Sandbox && op.Dest != "" && !strings.HasPrefix(op.Dest, "/") && op.Kind != OpLockFile {
		return &UsageError{Flag: flag, Msg: fmt.Sprintf("%s: destination %q is not an absolute path", flag, op.Dest), Hint: "sandbox paths start with /, e.g. " + flag + " " + cleanDest(op.Dest)}
	}
	return nil
}

// validateNet: the user-mode network's options need --net user.
func validateNet(s *Spec) error {
	n := s.Net
	if n.Mode == NetUser {
		if !s.Namespaces.Net {
			return &UsageError{Flag: "--net", Msg: "--net user conflicts with --share-net", Hint: "drop one of them"}
		}
		return nil
	}
	for _, c := range []struct {
		set  bool
		flag string
	}{
		{len(n.Publish) > 0, "--publish"}, {len(n.Allow) > 0, "--net-allow"}, {len(n.Deny) > 0, "--net-deny"},
		{n.AllowHostLoopback, "--net-allow-host-loopback"}, {n.Log != "", "--net-log"}, {len(n.DNS) > 0, "--net-dns"},
		{n.Backend != "", "--net-backend"},
	} {
		if c.set {
			return &UsageError{Flag: c.flag, Msg: c.flag + " requires --net user", Hint: "add --net user"}
		}
	}
	return nil
}
