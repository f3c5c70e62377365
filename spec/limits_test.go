package spec

import (
	"strings"
	"testing"
	"time"
)

func TestParseRlimit(t *testing.T) {
	cases := []struct {
		in      string
		want    Rlimit
		wantErr string
	}{
		{"nofile=1024", Rlimit{Name: "nofile", Resource: 7, Soft: 1024, Hard: 1024}, ""},
		{"NOFILE=1024:4096", Rlimit{Name: "nofile", Resource: 7, Soft: 1024, Hard: 4096}, ""},
		{"RLIMIT_CORE=0", Rlimit{Name: "core", Resource: 4, Soft: 0, Hard: 0}, ""},
		{"as=1G", Rlimit{Name: "as", Resource: 9, Soft: 1 << 30, Hard: 1 << 30}, ""},
		{"stack=8M:unlimited", Rlimit{Name: "stack", Resource: 3, Soft: 8 << 20, Hard: Unlimited}, ""},
		{"nproc=100:", Rlimit{Name: "nproc", Resource: 6, Soft: 100, KeepHard: true}, ""},
		{"cpu=:10", Rlimit{Name: "cpu", Resource: 0, Hard: 10, KeepSoft: true}, ""},
		{"rttime=infinity", Rlimit{Name: "rttime", Resource: 15, Soft: Unlimited, Hard: Unlimited}, ""},
		{"nofile", Rlimit{}, "NAME=SOFT"},
		{"nofile=", Rlimit{}, "NAME=SOFT"},
		{"files=10", Rlimit{}, "unknown resource"},
		{"nofile=1K", Rlimit{}, "invalid value"}, // not a byte count
		{"nofile=10:5", Rlimit{}, "above the hard limit"},
		{"nofile=:", Rlimit{}, "sets nothing"},
		{"nofile=-1", Rlimit{}, "invalid value"},
	}
	for _, c := range cases {
		got, err := ParseRlimit(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseRlimit(%q) error %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseRlimit(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	if len(RlimitNames()) != len(rlimitInfo()) {
		t.Errorf("RlimitNames lists %d names, the table has %d", len(RlimitNames()), len(rlimitInfo()))
	}
	for _, n := range RlimitNames() {
		if _, ok := rlimitInfo()[n]; !ok {
			t.Errorf("RlimitNames has %q, the table does not", n)
		}
	}
}

func TestParseCPUsAndTimeout(t *testing.T) {
	for in, want := range map[string]int64{"1": 1000, "0.5": 500, "2.25": 2250, "0.01": 10, "0.0105": 11} {
		if got, err := ParseCPUs(in); err != nil || got != want {
			t.Errorf("ParseCPUs(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "-1", "abc", "NaN", "Inf", "0.001", "1e9", ""} {
		if _, err := ParseCPUs(in); err == nil {
			t.Errorf("ParseCPUs(%q) accepted", in)
		}
	}
	for in, want := range map[string]time.Duration{"30": 30 * time.Second, "1.5": 1500 * time.Millisecond,
		"90s": 90 * time.Second, "1m30s": 90 * time.Second, "250ms": 250 * time.Millisecond, "2h": 2 * time.Hour} {
		if got, err := ParseTimeout(in); err != nil || got != want {
			t.Errorf("ParseTimeout(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "-5", "0s", "abc", "", "5 s", "0x10", "1e300"} {
		if _, err := ParseTimeout(in); err == nil {
			t.Errorf("ParseTimeout(%q) accepted", in)
		}
	}
}

func TestParseLimitFlags(t *testing.T) {
	s, _, err := Parse(Sandbox, []string{"--memory", "512M", "--memory-high=400M", "--memory-swap", "0", "--cpus", "1.5",
		"--pids", "64", "--io-weight", "50", "--cpu-weight", "200", "--timeout", "10s", "--timeout-grace", "1",
		"--rlimit", "nofile=256", "--rlimit=core=0", "--limits=best-effort", "--", "true"}, Options{RealUID: 1000, RealGID: 1000})
	if err != nil {
		t.Fatal(err)
	}
	l := s.Limits
	if l.Memory != 512<<20 || l.MemoryHigh != 400<<20 || !l.MemorySwapSet || l.MemorySwap != 0 || l.CPUMilli != 1500 ||
		l.Pids != 64 || l.IOWeight != 50 || l.CPUWeight != 200 || l.Timeout != 10*time.Second || l.Grace() != time.Second ||
		len(l.Rlimits) != 2 || l.Rlimits[1].Name != "core" || l.Mode != LimitsBestEffort || !l.NeedsCgroup() {
		t.Fatalf("limits: %+v", l)
	}
	s, _, err = Parse(Sandbox, []string{"--timeout", "5", "--rlimit", "nofile=64", "--", "true"}, Options{RealUID: 1000})
	if err != nil || s.Limits.NeedsCgroup() || s.Limits.Grace() != DefaultTimeoutGrace {
		t.Fatalf("timeout and rlimit alone need no cgroup: %v %+v", err, s.Limits)
	}
	// Decoding keeps every field (the stages see the same limits).
	if d := encodeDecode(t, s); d.Limits.Timeout != s.Limits.Timeout || len(d.Limits.Rlimits) != 1 {
		t.Fatalf("decode: %+v", d.Limits)
	}
	bad := map[string][]string{
		"--memory":      {"--memory", "0"},
		"--memory-swap": {"--memory-swap", "lots"},
		"--cpus":        {"--cpus", "0"},
		"--pids":        {"--pids", "0"},
		"--io-weight":   {"--io-weight", "10001"},
		"--cpu-weight":  {"--cpu-weight", "0"},
		"--timeout":     {"--timeout", "soon"},
		"--rlimit":      {"--rlimit", "bogus=1"},
		"--limits":      {"--limits", "maybe"},
	}
	for flag, args := range bad {
		_, _, err := Parse(Sandbox, append(args, "--", "true"), Options{RealUID: 1000})
		ue, ok := err.(*UsageError)
		if !ok || ue.Flag != flag || !strings.HasPrefix(ue.Msg, flag+" ") || ue.Hint == "" {
			t.Errorf("%q: %#v, want a usage error naming %s with a hint", args, err, flag)
		}
	}
	_, _, err = Parse(Sandbox, []string{"--timeout-grace", "2s", "--", "true"}, Options{RealUID: 1000})
	if ue, ok := err.(*UsageError); !ok || ue.Flag != "--timeout-grace" || ue.Msg != "--timeout-grace requires --timeout" {
		t.Errorf("--timeout-grace alone: %#v", err)
	}
	if _, _, err := Parse(Bwrap, []string{"--memory", "1G", "true"}, Options{}); err == nil || err.Error() != "Unknown option --memory" {
		t.Errorf("bwrap --memory: %v", err)
	}
}
