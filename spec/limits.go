package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LimitsMode says what happens when the host cannot enforce a cgroup limit.
type LimitsMode string

// The modes of --limits.
const (
	// LimitsRequired (the default): fail before anything runs.
	LimitsRequired LimitsMode = "required"
	// LimitsBestEffort: run with what can be enforced (rlimits, the
	// timeout) and print what was not.
	LimitsBestEffort LimitsMode = "best-effort"
)

// Unlimited is an rlimit value without a limit (RLIM_INFINITY).
const Unlimited = math.MaxUint64

// DefaultTimeoutGrace is how long the program has between SIGTERM and
// SIGKILL when --timeout expires.
const DefaultTimeoutGrace = 5 * time.Second

// Limits are the resource limits of the sandbox personality. Zero values
// mean "not asked for".
type Limits struct {
	// Memory, MemoryHigh: memory.max and memory.high in bytes.
	Memory     int64 `json:"memory,omitempty"`
	MemoryHigh int64 `json:"memory_high,omitempty"`
	// MemorySwap is memory.swap.max in bytes when MemorySwapSet (0 means no
	// swap at all, which is why it needs the flag).
	MemorySwap    int64 `json:"memory_swap,omitempty"`
	MemorySwapSet bool  `json:"memory_swap_set,omitempty"`
	// CPUMilli is --cpus in thousandths of a CPU (cpu.max).
	CPUMilli int64 `json:"cpu_milli,omitempty"`
	// Pids is pids.max.
	Pids int64 `json:"pids,omitempty"`
	// IOWeight and CPUWeight are io.weight and cpu.weight (1-10000).
	IOWeight  int `json:"io_weight,omitempty"`
	CPUWeight int `json:"cpu_weight,omitempty"`
	// Timeout is the wall-clock limit; TimeoutGrace the time between
	// SIGTERM and SIGKILL (DefaultTimeoutGrace when 0).
	Timeout      time.Duration `json:"timeout,omitempty"`
	TimeoutGrace time.Duration `json:"timeout_grace,omitempty"`
	// Rlimits are set on the program, in order (a later one for the same
	// resource wins).
	Rlimits []Rlimit `json:"rlimits,omitempty"`
	// Mode is --limits; "" means LimitsRequired.
	Mode LimitsMode `json:"mode,omitempty"`
}

// NeedsCgroup reports whether any limit needs a cgroup.
func (l *Limits) NeedsCgroup() bool {
	return l.Memory > 0 || l.MemoryHigh > 0 || l.MemorySwapSet || l.CPUMilli > 0 ||
		l.Pids > 0 || l.IOWeight > 0 || l.CPUWeight > 0
}

// Grace is the SIGTERM-to-SIGKILL time of the timeout.
func (l *Limits) Grace() time.Duration {
	if l.TimeoutGrace > 0 {
		return l.TimeoutGrace
	}
	return DefaultTimeoutGrace
}

// Rlimit is one --rlimit: Soft and Hard are Unlimited for infinity; KeepSoft
// and KeepHard leave that half as it is ("SOFT:" or ":HARD").
type Rlimit struct {
	Name     string `json:"name"` // lower case, without RLIMIT_
	Resource int    `json:"resource"`
	Soft     uint64 `json:"soft"`
	Hard     uint64 `json:"hard"`
	KeepSoft bool   `json:"keep_soft,omitempty"`
	KeepHard bool   `json:"keep_hard,omitempty"`
}

// rlimitDef is a resource's Linux number (the same on amd64 and arm64, the
// asm-generic values) and whether its value is a byte count.
type rlimitDef struct {
	res   int
	bytes bool
}

// rlimitInfo maps the names --rlimit takes to their resources; built on
// first use, as the option table is.
var rlimitInfo = sync.OnceValue(func() map[string]rlimitDef {
	return map[string]rlimitDef{
		"cpu": {0, false}, "fsize": {1, true}, "data": {2, true}, "stack": {3, true},
		"core": {4, true}, "rss": {5, true}, "nproc": {6, false}, "nofile": {7, false},
		"memlock": {8, true}, "as": {9, true}, "locks": {10, false}, "sigpending": {11, false},
		"msgqueue": {12, true}, "nice": {13, false}, "rtprio": {14, false}, "rttime": {15, false},
	}
})

// RlimitNames lists the names --rlimit accepts, sorted.
func RlimitNames() []string {
	return []string{"as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue",
		"nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}
}

// ParseRlimit parses NAME=SOFT[:HARD]. NAME is case-insensitive, with or
// without RLIMIT_. A single value sets both halves (as prlimit(1) does), so
// the program cannot raise it; "SOFT:" keeps the hard limit and ":HARD" the
// soft one. Values are numbers, "unlimited"/"infinity", and for byte-valued
// resources may carry K, M, G or T.
func ParseRlimit(s string) (Rlimit, error) {
	name, val, ok := strings.Cut(s, "=")
	if !ok || val == "" {
		return Rlimit{}, fmt.Errorf("want NAME=SOFT[:HARD], e.g. nofile=1024 or nofile=1024:4096")
	}
	name = strings.TrimPrefix(strings.ToLower(name), "rlimit_")
	info, known := rlimitInfo()[name]
	if !known {
		return Rlimit{}, fmt.Errorf("unknown resource %q (one of %s)", name, strings.Join(RlimitNames(), ", "))
	}
	r := Rlimit{Name: name, Resource: info.res}
	soft, hard, two := strings.Cut(val, ":")
	var err error
	switch {
	case !two:
		if r.Soft, err = rlimitValue(soft, info.bytes); err != nil {
			return Rlimit{}, err
		}
		r.Hard = r.Soft
	case soft == "" && hard == "":
		return Rlimit{}, fmt.Errorf("%q sets nothing: want SOFT, SOFT:HARD, SOFT: or :HARD", val)
	default:
		if r.KeepSoft = soft == ""; !r.KeepSoft {
			if r.Soft, err = rlimitValue(soft, info.bytes); err != nil {
				return Rlimit{}, err
			}
		}
		if r.KeepHard = hard == ""; !r.KeepHard {
			if r.Hard, err = rlimitValue(hard, info.bytes); err != nil {
				return Rlimit{}, err
			}
		}
		if !r.KeepSoft && !r.KeepHard && r.Soft > r.Hard {
			return Rlimit{}, fmt.Errorf("soft limit %s is above the hard limit %s", soft, hard)
		}
	}
	return r, nil
}

func rlimitValue(s string, bytes bool) (uint64, error) {
	switch strings.ToLower(s) {
	case "unlimited", "infinity", "max":
		return Unlimited, nil
	}
	if bytes {
		n, err := parseLimitSize(s, true)
		return uint64(n), err
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid value %q: want a number or unlimited", s)
	}
	return n, nil
}

// parseLimitSize is ParseSize that also takes 0 when zeroOK.
func parseLimitSize(s string, zeroOK bool) (int64, error) {
	if zeroOK && strings.Trim(s, "0") == "" && s != "" {
		return 0, nil
	}
	return ParseSize(s, false)
}

// ParseCPUs parses --cpus: a positive decimal number of CPUs with at most
// three decimals (cpu.max is set in microseconds per 100 ms period, so a
// thousandth of a CPU is 100 µs).
func ParseCPUs(s string) (int64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
		return 0, fmt.Errorf("invalid number of CPUs %q: want a positive number such as 0.5 or 2", s)
	}
	if f > 100000 {
		return 0, fmt.Errorf("%q CPUs is too many", s)
	}
	m := int64(math.Round(f * 1000))
	if m < 10 {
		return 0, fmt.Errorf("%q CPUs is too little: the least is 0.01", s)
	}
	return m, nil
}

// ParseTimeout parses a duration: Go's form (90s, 1m30s, 1.5h, 250ms) or a
// bare number of seconds, as timeout(1) takes.
func ParseTimeout(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "xXpP") {
		if f <= 0 || math.IsNaN(f) || f > math.MaxInt64/float64(time.Second) {
			return 0, fmt.Errorf("invalid duration %q: want a positive time such as 30, 90s or 1m30s", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid duration %q: want a positive time such as 30, 90s or 1m30s", s)
	}
	return d, nil
}

// limitFlag builds the apply function of a limit option from a parser of its
// value; the hint shows an example.
func limitFlag(hint string, set func(l *Limits, v string) error) func(*parser, string, []string) error {
	return func(ps *parser, name string, v []string) error {
		if err := set(&ps.s.Limits, v[0]); err != nil {
			return &UsageError{Flag: name, Msg: fmt.Sprintf("%s %s: %v", name, v[0], err), Hint: hint}
		}
		return nil
	}
}

func weight(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10000 {
		return 0, fmt.Errorf("invalid weight: want a whole number from 1 to 10000 (100 is the default share)")
	}
	return n, nil
}

// limitFlags are the resource options (sandbox personality only).
func limitFlags() map[string]flagDef {
	return map[string]flagDef{
		"--memory": {only: Sandbox, n: 1, apply: limitFlag("e.g. --memory 512M", func(l *Limits, v string) (err error) {
			l.Memory, err = ParseSize(v, false)
			return err
		}), help: "Memory limit (memory.max), e.g. 512M; the program is OOM-killed above it"},
		"--memory-high": {only: Sandbox, n: 1, apply: limitFlag("e.g. --memory-high 400M", func(l *Limits, v string) (err error) {
			l.MemoryHigh, err = ParseSize(v, false)
			return err
		}), help: "Memory throttling threshold (memory.high)"},
		"--memory-swap": {only: Sandbox, n: 1, apply: limitFlag("e.g. --memory-swap 0 (no swap) or 1G", func(l *Limits, v string) error {
			n, err := parseLimitSize(v, true)
			if err != nil {
				return err
			}
			l.MemorySwap, l.MemorySwapSet = n, true
			return nil
		}), help: "Swap limit (memory.swap.max); 0 for none"},
		"--cpus": {only: Sandbox, n: 1, apply: limitFlag("e.g. --cpus 0.5 or --cpus 2", func(l *Limits, v string) error {
			var err error
			l.CPUMilli, err = ParseCPUs(v)
			return err
		}), help: "CPU time as a number of CPUs (cpu.max), e.g. 0.5"},
		"--pids": {only: Sandbox, n: 1, apply: limitFlag("e.g. --pids 100", func(l *Limits, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				return fmt.Errorf("invalid count: want a whole number of at least 1")
			}
			l.Pids = n
			return nil
		}), help: "Most processes and threads at once (pids.max)"},
		"--io-weight": {only: Sandbox, n: 1, apply: limitFlag("e.g. --io-weight 50", func(l *Limits, v string) error {
			var err error
			l.IOWeight, err = weight(v)
			return err
		}), help: "Block I/O share, 1-10000 (io.weight; default 100)"},
		"--cpu-weight": {only: Sandbox, n: 1, apply: limitFlag("e.g. --cpu-weight 50", func(l *Limits, v string) error {
			var err error
			l.CPUWeight, err = weight(v)
			return err
		}), help: "CPU share, 1-10000 (cpu.weight; default 100)"},
		"--timeout": {only: Sandbox, n: 1, apply: limitFlag("e.g. --timeout 30s or --timeout 5m", func(l *Limits, v string) error {
			var err error
			l.Timeout, err = ParseTimeout(v)
			return err
		}), help: "Wall-clock limit: SIGTERM, then SIGKILL after the grace time; exit 124"},
		"--timeout-grace": {only: Sandbox, n: 1, apply: limitFlag("e.g. --timeout-grace 2s", func(l *Limits, v string) error {
			var err error
			l.TimeoutGrace, err = ParseTimeout(v)
			return err
		}), help: "Time between SIGTERM and SIGKILL at --timeout (default 5s)"},
		"--rlimit": {only: Sandbox, n: 1, apply: limitFlag("e.g. --rlimit nofile=1024 or --rlimit core=0", func(l *Limits, v string) error {
			r, err := ParseRlimit(v)
			if err == nil {
				l.Rlimits = append(l.Rlimits, r)
			}
			return err
		}), help: "Set RLIMIT_NAME: NAME=SOFT[:HARD], e.g. nofile=1024"},
		"--limits": {only: Sandbox, n: 1, apply: limitFlag("use --limits required (the default) or --limits best-effort", func(l *Limits, v string) error {
			switch m := LimitsMode(v); m {
			case LimitsRequired, LimitsBestEffort:
				l.Mode = m
				return nil
			}
			return fmt.Errorf("unknown mode")
		}), help: "required|best-effort: without cgroups, fail (default) or run with rlimits and say what is not enforced"},
	}
}
