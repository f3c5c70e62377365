package spec

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// UsageError is a bad command line. Flag names the option at fault, if any.
type UsageError struct {
	Flag string
	Msg  string
	// Hint is an optional line telling the fix (sandbox personality only).
	Hint string
	// LevelPrefix records a --level-prefix parsed before the error.
	LevelPrefix bool
}

func (e *UsageError) Error() string { return e.Msg }

func usagef(flag, format string, a ...any) *UsageError {
	return &UsageError{Flag: flag, Msg: fmt.Sprintf(format, a...)}
}

// Action is what the command line asks for besides running a sandbox.
type Action int

// The actions.
const (
	ActionRun Action = iota
	ActionHelp
	ActionVersion
	ActionPrintPolicy
)

// ArgsReader reads the NUL-separated arguments of --args FD.
type ArgsReader func(fd int) ([]string, error)

// Options carries what parsing needs from outside: the reader for --args and
// the caller's real ids (bubblewrap's rules depend on them).
type Options struct {
	ReadArgs ArgsReader
	RealUID  int
	RealGID  int
}

type parser struct {
	p      Personality
	s      *Spec
	opt    Options
	action Action

	// pending modifiers, consumed by the next op
	perms       int
	permsSet    bool
	size        int64
	sizeSet     bool
	overlaySrcs []string

	seen map[string]bool
	// count is the number of arguments so far, with --args files.
	count int
}

// maxArgs is bubblewrap's limit on arguments, --args files included.
const maxArgs = 9000

// lastWins are the options of which only the last one counts; bubblewrap
// warns when they are repeated.
var lastWins = sync.OnceValue(func() map[string]bool {
	return map[string]bool{
		"--chdir": true, "--exec-label": true, "--file-label": true, "--sync-fd": true, "--block-fd": true,
		"--userns-block-fd": true, "--info-fd": true, "--json-status-fd": true, "--seccomp": true,
		"--userns": true, "--userns2": true, "--pidns": true, "--uid": true, "--gid": true, "--hostname": true,
	}
})

// Parse turns argv (without the program name) into a Spec.
func Parse(p Personality, args []string, opt Options) (*Spec, Action, error) {
	s, action, err := parse(p, args, opt)
	if err != nil {
		var ue *UsageError
		if errors.As(err, &ue) && s != nil {
			ue.LevelPrefix = s.LevelPrefix
		}
		return nil, action, err
	}
	return s, action, nil
}

// parse is Parse; on error it still returns the partial Spec so that
// --level-prefix can apply to the message.
func parse(p Personality, args []string, opt Options) (*Spec, Action, error) {
	if len(args) > maxArgs {
		return nil, ActionRun, usagef("", "Exceeded maximum number of arguments %d", maxArgs)
	}
	ps := &parser{p: p, s: New(p), opt: opt, perms: -1, seen: map[string]bool{}, count: len(args)}
	rest, err := ps.parse(args, false)
	if err != nil {
		return ps.s, ActionRun, err
	}
	if ps.action != ActionRun {
		return ps.s, ps.action, nil
	}
	if err := ps.finish(); err != nil {
		return ps.s, ActionRun, err
	}
	if err := validateEarly(ps.s, ps.seen); err != nil {
		return ps.s, ActionRun, err
	}
	autoUserNS(ps.s, opt.RealUID)
	defaultNamespaces(ps.s)
	ps.s.Command = rest
	if len(rest) == 0 {
		if p == Bwrap {
			return ps.s, ActionRun, &UsageError{Msg: "", Hint: "usage"}
		}
		return ps.s, ActionRun, &UsageError{Msg: "no command given", Hint: "put the command after the options, e.g. sandbox --ro-bind /usr -- python3 script.py"}
	}
	if err := Validate(ps.s, opt.RealUID, opt.RealGID); err != nil {
		return ps.s, ActionRun, err
	}
	return ps.s, ActionRun, nil
}

// parse consumes options and returns the command (the arguments left after
// the first non-option or "--"). Inside an --args file (inFile) parsing stops
// at the first non-option too, and the rest of the file is ignored, as
// bubblewrap does.
func (ps *parser) parse(args []string, inFile bool) ([]string, error) {
	for len(args) > 0 {
		arg := args[0]
		if arg == "--" {
			return args[1:], nil
		}
		if !strings.HasPrefix(arg, "-") {
			return args, nil
		}
		name, inline, hasInline := strings.Cut(arg, "=")
		if hasInline && ps.p == Bwrap {
			name, hasInline = arg, false
		}
		f, ok := flags()[name]
		if !ok || (f.only != "" && f.only != ps.p) {
			if ps.p == Bwrap {
				return nil, usagef(arg, "Unknown option %s", arg)
			}
			return nil, &UsageError{Flag: arg, Msg: fmt.Sprintf("unknown option %s", arg), Hint: "run sandbox --help for the list of options"}
		}
		if name == "--args" && inFile {
			return nil, usagef(name, "--args not supported in arguments file")
		}
		var vals []string
		n := ps.arity(f, args[1:])
		if hasInline {
			if n != 1 {
				return nil, usagef(name, "%s takes %d arguments, not name=value", name, n)
			}
			vals = []string{inline}
			args = args[1:]
		} else {
			if len(args)-1 < n {
				if name == "--overlay-src" {
					// bubblewrap counts it and reports it as pending
					return nil, usagef(name, "%s", errOverlaySrc)
				}
				return nil, ps.missingArgs(name, f, n)
			}
			vals = args[1 : 1+n]
			args = args[1+n:]
		}
		if lastWins()[name] && ps.seen[name] {
			ps.s.Warnings = append(ps.s.Warnings, fmt.Sprintf("Only the last %s option will take effect", name))
		}
		ps.seen[name] = true
		if name == "--args" {
			if err := ps.argsFromFD(vals[0]); err != nil {
				return nil, err
			}
			if err := ps.checkModifiers(name, f); err != nil {
				return nil, err
			}
			continue
		}
		if err := f.apply(ps, name, vals); err != nil {
			return nil, err
		}
		if ps.action != ActionRun {
			return nil, nil
		}
		if err := ps.checkModifiers(name, f); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// arity is the number of values the flag takes at this point. In the sandbox
// personality a bind takes one value when the next word is not an absolute
// path (--ro-bind /usr -- cmd binds /usr at /usr).
func (ps *parser) arity(f flagDef, rest []string) int {
	if f.oneOrTwo && ps.p == Sandbox {
		if len(rest) < 2 || !strings.HasPrefix(rest[1], "/") {
			return 1
		}
	}
	return f.n
}

func (ps *parser) missingArgs(name string, f flagDef, n int) error {
	if ps.p == Bwrap {
		if f.missing != "" {
			return usagef(name, "%s", f.missing)
		}
		switch n {
		case 1:
			return usagef(name, "%s takes an argument", name)
		case 2:
			return usagef(name, "%s takes two arguments", name)
		default:
			return usagef(name, "%s takes three arguments", name)
		}
	}
	return &UsageError{Flag: name, Msg: fmt.Sprintf("%s: missing argument (takes %d)", name, n), Hint: "run sandbox --help for the option's arguments"}
}

// argsFromFD parses the NUL-separated options read from fd in place.
func (ps *parser) argsFromFD(v string) error {
	fd, err := ps.parseFD("--args", v)
	if err != nil {
		return err
	}
	if ps.opt.ReadArgs == nil {
		return usagef("--args", "--args is not supported here")
	}
	more, err := ps.opt.ReadArgs(fd)
	if err != nil {
		msg := err.Error()
		if msg != "" {
			msg = strings.ToUpper(msg[:1]) + msg[1:] // strerror(3)'s capital
		}
		return usagef("--args", "Can't read --args data: %s", msg)
	}
	ps.count += len(more)
	if ps.count > maxArgs {
		return usagef("--args", "Exceeded maximum number of arguments %d", maxArgs)
	}
	_, err = ps.parse(more, true)
	return err
}

// errOverlaySrc is bubblewrap's message for --overlay-src not followed by an
// overlay.
const errOverlaySrc = "--overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay"

// checkModifiers enforces that --perms and --size apply only to the very next
// option (other than each other), and that --overlay-src is followed by
// another one or an overlay, as bubblewrap checks them after each option.
func (ps *parser) checkModifiers(name string, f flagDef) error {
	if name != "--perms" && name != "--size" {
		if ps.permsSet {
			return ps.errPerms(name)
		}
		if ps.sizeSet {
			return ps.errSize(name)
		}
	}
	if len(ps.overlaySrcs) > 0 && name != "--overlay-src" {
		return usagef(name, "%s", errOverlaySrc)
	}
	return nil
}

func (ps *parser) errPerms(name string) error {
	if ps.p == Bwrap {
		return usagef("--perms", "--perms must be followed by an option that creates a file")
	}
	return &UsageError{Flag: "--perms", Msg: fmt.Sprintf("--perms must be followed by an option that creates a file or directory, not %s", name), Hint: "use --perms right before --dir, --tmpfs, --file, --bind-data, --ro-bind-data or --chmod-like ops"}
}

func (ps *parser) errSize(name string) error {
	if ps.p == Bwrap {
		return usagef("--size", "--size must be followed by --tmpfs")
	}
	return &UsageError{Flag: "--size", Msg: fmt.Sprintf("--size must be followed by --tmpfs, not %s", name)}
}

// takePerms returns the pending --perms value (or def) and clears it.
func (ps *parser) takePerms(def int) int {
	p := def
	if ps.permsSet {
		p = ps.perms
	}
	ps.perms, ps.permsSet = -1, false
	return p
}

func (ps *parser) takeSize() int64 {
	s := ps.size
	ps.size, ps.sizeSet = 0, false
	return s
}

func (ps *parser) parseFD(flag, v string) (int, error) {
	fd, ok := cNonNegative(v, 1<<31-1)
	if !ok {
		if ps.p == Bwrap {
			return 0, usagef(flag, "Invalid fd: %s", v)
		}
		return 0, usagef(flag, "%s: invalid file descriptor %q: want a number >= 0", flag, v)
	}
	return fd, nil
}

func (ps *parser) addOp(op Op) { ps.s.Ops = append(ps.s.Ops, op) }

// finish checks the modifiers still pending when the command starts.
// bubblewrap silently drops a pending --perms or --size there; the sandbox
// personality refuses it.
func (ps *parser) finish() error {
	if ps.p == Sandbox && ps.permsSet {
		return ps.errPerms("the command")
	}
	if ps.p == Sandbox && ps.sizeSet {
		return ps.errSize("the command")
	}
	if len(ps.overlaySrcs) > 0 {
		return usagef("--overlay-src", "%s", errOverlaySrc)
	}
	return nil
}

// defaultNamespaces unshares every namespace in the sandbox personality
// unless --no-defaults was given; --share-net keeps the host's network.
func defaultNamespaces(s *Spec) {
	if s.Personality != Sandbox || s.NoDefaults {
		return
	}
	ns := &s.Namespaces
	ns.User, ns.PID, ns.IPC, ns.UTS = true, true, true, true
	ns.CgroupTry = ns.CgroupTry || !ns.Cgroup
	if !s.ShareNet {
		ns.Net = true
	}
}

// autoUserNS turns the user namespace on where bubblewrap implies it: for
// an unprivileged caller, and for --unshare-user-try. The sandbox
// personality always has one.
func autoUserNS(s *Spec, realUID int) {
	if realUID != 0 || s.Namespaces.UserTry || s.Personality == Sandbox {
		s.Namespaces.User = true
	}
}
