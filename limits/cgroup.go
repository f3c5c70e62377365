package limits

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"sandbox/spec"
)

// File is one cgroup interface file to write on the program's leaf.
type File struct {
	Name, Value string
	// Flag is the option that asked for it, for messages.
	Flag string
}

// cpuPeriod is cpu.max's period in µs (the kernel's and systemd's default).
const cpuPeriod = 100000

// Files returns the cgroup v2 files that enforce l, in a fixed order.
func Files(l spec.Limits) []File {
	var fs []File
	add := func(on bool, name, value, flag string) {
		if on {
			fs = append(fs, File{name, value, flag})
		}
	}
	add(l.Memory > 0, "memory.max", strconv.FormatInt(l.Memory, 10), "--memory")
	add(l.MemoryHigh > 0, "memory.high", strconv.FormatInt(l.MemoryHigh, 10), "--memory-high")
	add(l.MemorySwapSet, "memory.swap.max", strconv.FormatInt(l.MemorySwap, 10), "--memory-swap")
	add(l.CPUMilli > 0, "cpu.max", fmt.Sprintf("%d %d", l.CPUMilli*cpuPeriod/1000, cpuPeriod), "--cpus")
	add(l.CPUWeight > 0, "cpu.weight", strconv.Itoa(l.CPUWeight), "--cpu-weight")
	add(l.Pids > 0, "pids.max", strconv.FormatInt(l.Pids, 10), "--pids")
	add(l.IOWeight > 0, "io.weight", "default "+strconv.Itoa(l.IOWeight), "--io-weight")
	return fs
}

// Controller is the cgroup controller of an interface file.
func (f File) Controller() string { c, _, _ := strings.Cut(f.Name, "."); return c }

// accounting are the controllers enabled for the reports even when no limit
// of theirs was asked for (memory.peak, pids.events), when available.
var accounting = []string{"memory", "pids"}

// Tree is the sandbox's cgroup: Dir (a systemd scope, or a directory of its
// own under a delegated cgroup) with two leaves, "supervisor" for the
// sandbox's init and "payload" for the program and its descendants, which
// carries the limits. Keeping init out of the payload keeps its Go threads
// out of pids.max and its memory out of memory.max; the kernel's rule that a
// cgroup with controllers enabled for its children holds no processes
// itself is why init cannot stay in Dir.
type Tree struct {
	// Dir is the absolute path of the sandbox's cgroup directory.
	Dir string
	// Via says how it was obtained, for --verbose and the status.
	Via string
	// Unit is the systemd scope's name, "" for a delegated directory.
	Unit string
	// Enabled are the controllers enabled on the payload.
	Enabled []string
	// Files are the limits written.
	Files []File
	// own: Dir was created here and is removed by Close.
	own bool
}

// Payload is the program's leaf.
func (t *Tree) Payload() string { return filepath.Join(t.Dir, "payload") }

// Supervisor is init's leaf.
func (t *Tree) Supervisor() string { return filepath.Join(t.Dir, "supervisor") }

// MissingError says a limit cannot be enforced because its controller is not
// available where the sandbox's cgroup lives.
type MissingError struct {
	Flag, Controller, Where string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s: the %s controller is not delegated to this user (not in %s)", e.Flag, e.Controller, e.Where)
}

// Hint is the fix for a missing controller.
func (e *MissingError) Hint() string {
	return "delegate it to user managers: a drop-in for user@.service with [Service] Delegate=cpu cpuset io memory pids, then log in again"
}

// populate makes the leaves, moves pid into its leaf (supervisor, or payload
// when it is the program itself), enables the controllers the limits and the
// reports need among avail, and writes the limits. Dir must exist and hold
// no process but pid.
func (t *Tree) populate(l spec.Limits, pid int, pidIsProgram bool, avail []string) error {
	for _, leaf := range []string{t.Supervisor(), t.Payload()} {
		if err := mkdir(leaf); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create %s: %w", leaf, err)
		}
	}
	dst := t.Supervisor()
	if pidIsProgram {
		dst = t.Payload()
	}
	if err := writeFile(filepath.Join(dst, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("move the sandbox into %s: %w", dst, err)
	}
	t.Files = Files(l)
	want := map[string]bool{}
	for _, c := range accounting {
		want[c] = true
	}
	for _, f := range t.Files {
		c := f.Controller()
		if !slices.Contains(avail, c) {
			return &MissingError{Flag: f.Flag, Controller: c, Where: filepath.Join(t.Dir, "cgroup.controllers")}
		}
		want[c] = true
	}
	for _, c := range avail {
		if !want[c] {
			continue
		}
		if err := writeFile(filepath.Join(t.Dir, "cgroup.subtree_control"), "+"+c); err != nil {
			return fmt.Errorf("enable the %s controller in %s: %w", c, t.Dir, err)
		}
		t.Enabled = append(t.Enabled, c)
	}
	sort.Strings(t.Enabled)
	for _, f := range t.Files {
		p := filepath.Join(t.Payload(), f.Name)
		if err := writeFile(p, f.Value); err != nil {
			if errors.Is(err, os.ErrNotExist) && f.Name == "memory.swap.max" {
				return fmt.Errorf("%s: this kernel does not account swap (no %s)", f.Flag, p)
			}
			return fmt.Errorf("%s: write %q to %s: %w", f.Flag, f.Value, p, err)
		}
	}
	return nil
}

// mkdir makes a cgroup (the kernel fills it with its interface files; the
// tests' fake tree does that itself).
var mkdir = func(p string) error { return os.Mkdir(p, 0o755) }

// rmdir removes a cgroup (its interface files go with it).
var rmdir = os.Remove

// Usage is what the program used and met, read from its leaf.
type Usage struct {
	// MemoryPeak in bytes (0 when the kernel has no memory.peak).
	MemoryPeak int64
	// CPUUsec is user+system CPU time in µs.
	CPUUsec int64
	// OOMKills counts processes the OOM killer ended inside.
	OOMKills int64
	// PidsRefused counts forks refused at pids.max.
	PidsRefused int64
}

// Usage reads the payload's counters; missing files read as zero.
func (t *Tree) Usage() Usage {
	p := t.Payload()
	return Usage{
		MemoryPeak:  readInt(filepath.Join(p, "memory.peak")),
		CPUUsec:     keyed(filepath.Join(p, "cpu.stat"), "usage_usec"),
		OOMKills:    keyed(filepath.Join(p, "memory.events"), "oom_kill"),
		PidsRefused: keyed(filepath.Join(p, "pids.events"), "max"),
	}
}

// Kill ends every process of the payload at once (cgroup.kill, Linux 5.14).
func (t *Tree) Kill() error { return writeFile(filepath.Join(t.Payload(), "cgroup.kill"), "1") }

// Close removes the leaves (and Dir when it was made here) once their
// processes are gone; the kernel may take a moment to free a cgroup whose
// last process just died, hence the short retry. A systemd scope itself is
// removed by systemd when it empties.
func (t *Tree) Close() error {
	dirs := []string{t.Payload(), t.Supervisor()}
	if t.own {
		dirs = append(dirs, t.Dir)
	}
	var last error
	for _, d := range dirs {
		last = nil
		for i := 0; i < 100; i++ {
			err := rmdir(d)
			if err == nil || errors.Is(err, os.ErrNotExist) {
				last = nil
				break
			}
			last = err
			time.Sleep(10 * time.Millisecond)
		}
		if last != nil {
			return fmt.Errorf("remove %s: %w", d, last)
		}
	}
	return nil
}

func writeFile(p, v string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(v)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func readInt(p string) int64 {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// keyed reads "key value" from a flat-keyed cgroup file.
func keyed(p, key string) int64 {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// words reads a space-separated cgroup file (cgroup.controllers).
func words(p string) ([]string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}
