package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"sandbox/limits"
	"sandbox/spec"
)

// ExitTimeout is the sandbox personality's status when --timeout ended the
// program (timeout(1)'s).
const ExitTimeout = 124

// checkLimits refuses, before anything starts, the rlimits setrlimit would
// refuse inside.
func checkLimits(s *spec.Spec) error {
	if err := limits.CheckRlimits(s.Limits.Rlimits, os.Geteuid() == 0); err != nil {
		return &SetupError{Msg: err.Error(), Hint: "lower it, or raise your hard limit first (ulimit -H, /etc/security/limits.conf)", Exit: ExitSetup}
	}
	return nil
}

// enterCgroup puts the just-started init (paused before its plan) into the
// sandbox's cgroup, or explains why it cannot. With --limits best-effort a
// host without cgroups gives a warning naming each limit not enforced.
func (p *parent) enterCgroup(pid int) error {
	l := p.s.Limits
	req := limits.Request{Limits: l, PID: pid, PIDIsProgram: !p.plan.UseInit, Description: "sandbox: " + strings.Join(p.s.Command, " ")}
	t, err := limits.Enter(context.Background(), limits.DefaultEnv(), req)
	if err == nil {
		p.cgroup = t
		p.plan.CgroupPayload = t.Payload()
		if p.opt.Logf != nil {
			p.opt.Logf("limits: %s; enforced: %s", t.Via, filesText(t.Files))
		}
		return nil
	}
	var ue *limits.UnavailableError
	if errors.As(err, &ue) && l.Mode == spec.LimitsBestEffort {
		p.notEnforced = limits.NotEnforced(l)
		if p.opt.Warnf != nil {
			p.opt.Warnf("--limits best-effort: NOT enforced: %s (%s)", strings.Join(p.notEnforced, ", "), err)
		}
		return nil
	}
	var me *limits.MissingError
	switch {
	case errors.As(err, &ue):
		var flags []string
		for _, f := range limits.Files(l) {
			flags = append(flags, f.Flag)
		}
		return &SetupError{Msg: strings.Join(flags, ", ") + ": " + err.Error(), Hint: ue.Hint(), Exit: ExitSetup}
	case errors.As(err, &me):
		return &SetupError{Msg: err.Error(), Hint: me.Hint(), Exit: ExitSetup}
	}
	return &SetupError{Msg: "limits: " + err.Error(), Exit: ExitSetup}
}

func filesText(fs []limits.File) string {
	if len(fs) == 0 {
		return "none (accounting only)"
	}
	var parts []string
	for _, f := range fs {
		parts = append(parts, f.Name+"="+f.Value)
	}
	return strings.Join(parts, " ")
}

// limitsJSON is the "limits" member of the first --json-status-fd line and
// of --info-fd: what is enforced and how.
func (p *parent) limitsJSON() string {
	l := p.s.Limits
	if !l.NeedsCgroup() && l.Timeout == 0 && len(l.Rlimits) == 0 {
		return ""
	}
	var parts []string
	if t := p.cgroup; t != nil {
		parts = append(parts, fmt.Sprintf("%q: %q", "cgroup", strings.TrimPrefix(t.Payload(), limits.Mount)))
		if t.Unit != "" {
			parts = append(parts, fmt.Sprintf("%q: %q", "scope", t.Unit))
		}
		for _, f := range t.Files {
			parts = append(parts, fmt.Sprintf("%q: %q", f.Name, f.Value))
		}
	}
	if l.Timeout > 0 {
		parts = append(parts, fmt.Sprintf("%q: %g", "timeout-seconds", l.Timeout.Seconds()))
	}
	for _, r := range l.Rlimits {
		parts = append(parts, fmt.Sprintf("%q: %q", "rlimit-"+r.Name, limits.RlimitText(r)))
	}
	if len(p.notEnforced) > 0 {
		parts = append(parts, fmt.Sprintf("%q: [%s]", "not-enforced", quoteAll(p.notEnforced)))
	}
	return fmt.Sprintf("%q: { %s }", "limits", strings.Join(parts, ", "))
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// timeout drives --timeout: SIGTERM to the program when it expires, SIGKILL
// to the whole sandbox after the grace time.
type timeout struct {
	term, kill <-chan time.Time
	fired      bool
}

func (p *parent) startTimeout() *timeout {
	if p.s.Limits.Timeout <= 0 {
		return &timeout{}
	}
	return &timeout{term: time.After(p.s.Limits.Timeout)}
}

func (p *parent) timeoutTerm(pid int, t *timeout) {
	t.fired, t.term = true, nil
	t.kill = time.After(p.s.Limits.Grace())
	if p.plan.UseInit {
		p.ctlW.Write([]byte{byte(syscall.SIGTERM)})
	} else {
		syscall.Kill(pid, syscall.SIGTERM)
	}
}

func (p *parent) timeoutKill(t *timeout) {
	t.kill = nil
	if p.cgroup != nil {
		p.cgroup.Kill() // also what left the pid namespace (--share-pid)
	}
	p.killInit()
}

// finishLimits reports what the limits did once the program has exited:
// one line per limit that was hit, and the JSON members of the last status
// line. It also removes the sandbox's cgroup (init is gone by then, or
// about to be: its leaf is removed when it is).
func (p *parent) finishLimits(code int, t *timeout) (int, []string) {
	var extra []string
	if t.fired {
		code = ExitTimeout
		extra = append(extra, fmt.Sprintf("%q: true", "timed-out"))
		if p.opt.Warnf != nil {
			p.opt.Warnf("--timeout %s: time is up; the program was stopped (exit status %d)", p.s.Limits.Timeout, ExitTimeout)
		}
	}
	if cg := p.cgroup; cg != nil {
		// The program has ended: what it left in its leaf ends with it (as
		// the pid namespace would), then the counters are final. init waits
		// for ctl to close before it exits (see reap), so systemd has not
		// removed the cgroup yet.
		cg.Kill()
		u := cg.Usage()
		p.ctlW.Close()
		extra = append(extra,
			fmt.Sprintf("%q: %t", "oom-killed", u.OOMKills > 0),
			fmt.Sprintf("%q: %t", "pids-limit-hit", u.PidsRefused > 0),
			fmt.Sprintf("%q: %d", "memory-peak", u.MemoryPeak),
			fmt.Sprintf("%q: %d", "cpu-usec", u.CPUUsec))
		if p.opt.Warnf != nil {
			if u.OOMKills > 0 {
				p.opt.Warnf("out of memory: %d process(es) OOM-killed at the memory limit (%s)", u.OOMKills, memText(p.s.Limits))
			}
			if u.PidsRefused > 0 && p.s.Limits.Pids > 0 {
				p.opt.Warnf("--pids %d: %d fork(s) or thread(s) were refused at the limit", p.s.Limits.Pids, u.PidsRefused)
			}
		}
	}
	return code, extra
}

func memText(l spec.Limits) string {
	if l.Memory > 0 {
		return fmt.Sprintf("--memory %d bytes", l.Memory)
	}
	return "memory.max"
}

// closeCgroup waits for init to be gone, then removes the sandbox's cgroup.
func (p *parent) closeCgroup() {
	if p.cgroup == nil {
		return
	}
	if p.cmd != nil && p.cmd.ProcessState == nil {
		p.cmd.Process.Kill() // the program has ended: nothing of value is left
		p.cmd.Wait()
	}
	p.cgroup.Close()
}

// enterLateCgroupNS gives the program the cgroup namespace that init was
// created without: with limits, init must stay in the host's cgroup
// namespace to start the exec stage in the payload leaf, and the program's
// namespace must be rooted at that leaf so that it sees itself at "/" and,
// cgroup2 being mounted with nsdelegate, cannot write its own limits.
func enterLateCgroupNS(plan *Plan) error {
	if !plan.LateCgroupNS {
		return nil
	}
	if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
		return &SetupError{Msg: "create the cgroup namespace: " + err.Error(), Exit: ExitSetup}
	}
	return nil
}
