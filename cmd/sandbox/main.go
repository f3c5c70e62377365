// No periodic re-reading of the cgroup's CPU limit by the Go runtime (a
// goroutine at start and cgroup file reads from sysmon): the stages are
// short-lived or idle supervisors, and the program's limits are not ours.
//go:debug updatemaxprocs=0

// Command sandbox runs a program in new Linux namespaces with only what its
// command line grants, without root. Invoked as "bwrap" it speaks
// bubblewrap's command line and behaves like bubblewrap.
//
// The same binary is re-executed as the stages inside the sandbox; main
// dispatches on the hidden stage arguments before it parses any flag.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"

	sbruntime "sandbox/runtime"
	"sandbox/runtime/startup"
	"sandbox/secure"
	"sandbox/spec"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0"

// bwrapVersion is the bubblewrap release whose behaviour the bwrap
// personality follows.
const bwrapVersion = "0.11.0"

func init() {
	// The stages start children with a parent-death signal and drop
	// per-thread credentials before execve: their main goroutine stays on
	// the main thread, which lives as long as the process.
	if len(os.Args) > 1 && (os.Args[1] == sbruntime.StageInit || os.Args[1] == sbruntime.StageExec) {
		goruntime.LockOSThread()
	}
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case sbruntime.StageInit:
			os.Exit(sbruntime.InitMain(os.Args[0], os.Args[2:]))
		case sbruntime.StageExec:
			os.Exit(sbruntime.ExecMain(os.Args[2:]))
		case sbruntime.StageNoop:
			os.Exit(0)
		}
	}
	os.Exit(run(os.Args))
}

func personality(argv0 string) spec.Personality {
	if strings.HasPrefix(filepath.Base(argv0), "bwrap") {
		return spec.Bwrap
	}
	return spec.Sandbox
}

// ui prints messages in the personality's style.
type ui struct {
	p           spec.Personality
	levelPrefix bool
}

func (u *ui) prefix(level int) string {
	name := "sandbox: "
	if u.p == spec.Bwrap {
		name = "bwrap: "
	}
	if u.levelPrefix {
		return fmt.Sprintf("<%d>%s", level, name)
	}
	return name
}

func (u *ui) errorf(msg, hint string) {
	line := u.prefix(3) + msg
	if hint != "" && u.p == spec.Sandbox {
		line += "; " + hint
	}
	fmt.Fprintln(os.Stderr, line)
}

func (u *ui) failStatus() int {
	if u.p == spec.Bwrap {
		return sbruntime.ExitBwrapFailure
	}
	return sbruntime.ExitSetup
}

func run(argv []string) int {
	p := personality(argv[0])
	u := &ui{p: p}
	inherited := sbruntime.InheritedFDs()
	if p == spec.Bwrap && len(argv) == 1 {
		fmt.Fprint(os.Stderr, spec.Help(p, argv[0]))
		return sbruntime.ExitBwrapFailure
	}
	// --args files are read and closed while parsing: their numbers are
	// no longer the caller's to pass on (the runtime may reuse them).
	readArgs := func(fd int) ([]string, error) {
		inherited = slices.DeleteFunc(inherited, func(i int) bool { return i == fd })
		return sbruntime.ReadArgsFD(fd)
	}
	s, action, err := spec.Parse(p, argv[1:], spec.Options{
		ReadArgs: readArgs,
		RealUID:  os.Getuid(),
		RealGID:  os.Getgid(),
	})
	if s != nil {
		u.levelPrefix = s.LevelPrefix
	}
	if err != nil {
		var ue *spec.UsageError
		if errors.As(err, &ue) && ue.Hint == "usage" {
			fmt.Fprint(os.Stderr, spec.Help(p, argv[0]))
			return sbruntime.ExitBwrapFailure
		}
		hint := ""
		if ue != nil {
			hint = ue.Hint
			u.levelPrefix = ue.LevelPrefix
		}
		u.errorf(err.Error(), hint)
		return u.failStatus()
	}
	switch action {
	case spec.ActionHelp:
		fmt.Print(spec.Help(p, argv[0]))
		return 0
	case spec.ActionPrintPolicy:
		pol, err := secure.DefaultPolicy(s.Allow)
		if err != nil {
			u.errorf("--allow: "+err.Error(), "")
			return u.failStatus()
		}
		fmt.Print(pol.Describe())
		return 0
	case spec.ActionVersion:
		if p == spec.Bwrap {
			fmt.Println("bubblewrap " + bwrapVersion)
		} else {
			fmt.Printf("sandbox %s (bubblewrap %s compatible)\n", version, bwrapVersion)
		}
		return 0
	}
	if s.Net.Mode == spec.NetUser {
		// The network helper is started from a goroutine while this one
		// works: the Ps package startup took.
		goruntime.GOMAXPROCS(startup.Procs)
	}
	notes := spec.ApplyDefaults(s, hostFacts())
	for _, w := range s.Warnings {
		fmt.Fprintln(os.Stderr, u.prefix(4)+w)
	}
	var logf func(string, ...any)
	if s.Verbose {
		logf = func(format string, a ...any) { fmt.Fprintf(os.Stderr, u.prefix(6)+format+"\n", a...) }
		for _, n := range notes {
			logf("default: %s", n)
		}
	}
	warnf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, u.prefix(4)+format+"\n", a...) }
	// The runtime decides whether the helper runs; handing it over costs
	// nothing (a string header).
	opt := sbruntime.Options{Inherited: inherited, Logf: logf, Warnf: warnf, Argv0: argv[0], NetHelper: netHelperExe}
	if s.Verbose {
		opt.LogPrefix = u.prefix(6)
	}
	code, err := sbruntime.Run(s, opt)
	if err != nil {
		var se *sbruntime.SetupError
		if errors.As(err, &se) {
			msg := se.Msg
			if p == spec.Bwrap {
				msg = se.BwrapMsg
			}
			u.errorf(msg, se.Hint)
			if p == spec.Bwrap {
				return sbruntime.ExitBwrapFailure
			}
			return se.Exit
		}
		u.errorf(err.Error(), "")
		return u.failStatus()
	}
	return code
}

// hostFacts gathers what the sandbox personality's defaults depend on.
func hostFacts() spec.Host {
	h := spec.Host{MergedUsr: map[string]string{}}
	h.Cwd, _ = os.Getwd()
	h.Home = os.Getenv("HOME")
	for _, top := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		if t, err := os.Readlink(top); err == nil && strings.HasPrefix(strings.TrimPrefix(t, "/"), "usr/") {
			h.MergedUsr[top] = t
		}
	}
	return h
}
