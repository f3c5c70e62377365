// Command benchstart is the helper of scripts/bench (a start-up benchmark of
// the sandbox against bubblewrap; not a test). Two parts:
//
//	benchstart run -plan FILE [-runs N] [-conc-runs N] [-conc K] [-loop-runs N]
//	    reads the plan (one row a line: GROUP TAB MODE TAB LABEL TAB ARGV...,
//	    fields separated by tabs; MODE is seq, conc or loop; the first row
//	    of a group is its reference for the ratios), runs every group's rows
//	    interleaved run by run (A B C A B C ...), prints the table and the
//	    "targets" line. For every run it starts the command (no shell),
//	    through the launcher when there is one (see launcher), and takes:
//	      wall  time from fork to the command reaped
//	      CPU   ru_utime+ru_stime of the tree: with the launcher every
//	            process of it, orphans included; without, those the
//	            command (or they) waited for
//	      RSS   ru_maxrss: the largest peak RSS of one process of the tree
//	            (not a sum)
//	    conc: K copies started at once; wall = until the last is reaped,
//	          CPU = sum, RSS = max over the K trees.
//	    loop: the command prints "ns/op=X" (benchstart getppid); the
//	          metric is that in-sandbox ns per getppid call, not wall.
//
//	benchstart getppid N
//	    N raw getppid(2) calls; prints "ns/op=X". Static (CGO_ENABLED=0):
//	    bound into the sandbox to measure the seccomp filter's cost.
//
// Only the standard library.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "getppid":
		getppid(os.Args[2:])
	case "run":
		run(os.Args[2:])
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchstart run -plan FILE [-runs N] [-conc-runs N] [-conc K] [-loop-runs N]\n       benchstart getppid N")
	os.Exit(2)
}

func getppid(args []string) {
	n := 1000000
	if len(args) > 0 {
		v, err := strconv.Atoi(args[0])
		if err != nil || v < 1 {
			usage()
		}
		n = v
	}
	// warm up
	for i := 0; i < 1000; i++ {
		syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
	}
	t0 := time.Now()
	for i := 0; i < n; i++ {
		syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
	}
	d := time.Since(t0)
	fmt.Printf("ns/op=%.2f\n", float64(d.Nanoseconds())/float64(n))
}

type row struct {
	group, mode, label string
	argv               []string
	wall, cpu, rss     []float64 // ms, ms, MiB (loop: wall = ns/op)
	fails              int
	firstErr           string
}

type sample struct {
	wall, cpu, rss float64
	err            string
}

// launcher: a tiny static C program (built by scripts/bench), a child
// subreaper, that fork()s (a real fork, not Go's vfork), execs the command,
// waits for it, reaps the orphans of its tree and writes
// "maxrss_kb utime_us stime_us wall_us" of the whole tree (wall: until the
// command itself was reaped) to fd 3. Needed because the
// kernel folds the hiwater RSS of the mm a process had before execve into its
// ru_maxrss: with Go's CLONE_VM|CLONE_VFORK spawn that is this driver's own
// peak (several MB), a floor under every measurement. Without a launcher
// that floor is reported (see -launcher in scripts/bench).
var launcher string

func runOne(argv []string, wantOut bool) (s sample) {
	var cmd *exec.Cmd
	var pr, pw *os.File
	if launcher != "" {
		var err error
		if pr, pw, err = os.Pipe(); err != nil {
			s.err = err.Error()
			return
		}
		cmd = exec.Command(launcher, argv...)
		cmd.ExtraFiles = []*os.File{pw}
	} else {
		cmd = exec.Command(argv[0], argv[1:]...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	t0 := time.Now()
	err := cmd.Start()
	if pw != nil {
		pw.Close()
	}
	if err != nil {
		if pr != nil {
			pr.Close()
		}
		s.err = err.Error()
		return
	}
	var rep []byte
	if pr != nil {
		rep, _ = io.ReadAll(pr)
		pr.Close()
	}
	err = cmd.Wait()
	s.wall = float64(time.Since(t0).Nanoseconds()) / 1e6
	if launcher != "" {
		var kb, ut, st, wall int64
		if _, perr := fmt.Sscan(string(rep), &kb, &ut, &st, &wall); perr == nil {
			s.cpu = float64(ut+st) / 1e3
			s.rss = float64(kb) / 1024
			s.wall = float64(wall) / 1e3 // the command's, not its orphans'
		} else if err == nil {
			err = fmt.Errorf("no report from the launcher")
		}
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.cpu = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
		s.rss = float64(ru.Maxrss) / 1024 // KiB -> MiB
	}
	if err != nil {
		s.err = fmt.Sprintf("%v: %s", err, strings.TrimSpace(errb.String()))
		return
	}
	if wantOut {
		o := strings.TrimSpace(out.String())
		v, perr := strconv.ParseFloat(strings.TrimPrefix(o, "ns/op="), 64)
		if perr != nil || !strings.HasPrefix(o, "ns/op=") {
			s.err = "bad output: " + o
			return
		}
		s.wall = v
	}
	return
}

func runConc(argv []string, k int) (s sample) {
	var wg sync.WaitGroup
	res := make([]sample, k)
	t0 := time.Now()
	for i := 0; i < k; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res[i] = runOne(argv, false)
		}(i)
	}
	wg.Wait()
	s.wall = float64(time.Since(t0).Nanoseconds()) / 1e6
	nerr := 0
	for _, r := range res {
		s.cpu += r.cpu
		if r.rss > s.rss {
			s.rss = r.rss
		}
		if r.err != "" {
			nerr++
			if s.err == "" {
				s.err = r.err
			}
		}
	}
	if nerr > 0 {
		s.err = fmt.Sprintf("%d/%d failed, first: %s", nerr, k, s.err)
	}
	return
}

func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	// nearest-rank on the sorted samples, linear interpolation
	x := p * float64(len(s)-1)
	i := int(x)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (x-float64(i))*(s[i+1]-s[i])
}

func run(args []string) {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	plan := fs.String("plan", "", "plan file")
	runs := fs.Int("runs", 50, "runs of seq and loop rows")
	concRuns := fs.Int("conc-runs", 10, "runs of conc rows")
	conc := fs.Int("conc", 100, "sandboxes per conc run")
	loopRuns := fs.Int("loop-runs", 20, "runs of loop rows")
	fs.StringVar(&launcher, "launcher", "", "fork+exec+wait4 launcher reporting the child's rusage on fd 3")
	fs.Parse(args)
	f, err := os.Open(*plan)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var rows []*row
	var groups []string
	byGroup := map[string][]*row{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fl := strings.Split(line, "\t")
		if len(fl) < 4 {
			fmt.Fprintln(os.Stderr, "bad plan line:", line)
			os.Exit(1)
		}
		r := &row{group: fl[0], mode: fl[1], label: fl[2], argv: fl[3:]}
		rows = append(rows, r)
		if _, ok := byGroup[r.group]; !ok {
			groups = append(groups, r.group)
		}
		byGroup[r.group] = append(byGroup[r.group], r)
	}
	f.Close()

	for _, g := range groups {
		rs := byGroup[g]
		n := *runs
		switch rs[0].mode {
		case "conc":
			n = *concRuns
		case "loop":
			n = *loopRuns
		}
		fmt.Fprintf(os.Stderr, "bench: %s: %d rows x %d runs ", g, len(rs), n)
		t0 := time.Now()
		// one untimed warm-up round (page cache, binaries)
		for _, r := range rs {
			runOne(r.argv, false)
		}
		for i := 0; i < n; i++ {
			for _, r := range rs {
				var s sample
				switch r.mode {
				case "conc":
					s = runConc(r.argv, *conc)
				case "loop":
					s = runOne(r.argv, true)
				default:
					s = runOne(r.argv, false)
				}
				if s.err != "" {
					r.fails++
					if r.firstErr == "" {
						r.firstErr = s.err
					}
					continue
				}
				r.wall = append(r.wall, s.wall)
				r.cpu = append(r.cpu, s.cpu)
				r.rss = append(r.rss, s.rss)
			}
			if (i+1)%10 == 0 {
				fmt.Fprint(os.Stderr, ".")
			}
		}
		fmt.Fprintf(os.Stderr, " %.1fs\n", time.Since(t0).Seconds())
	}

	ratio := func(a, b float64) string {
		if b == 0 || a == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fx", a/b)
	}
	med := func(v []float64) float64 { return pct(v, 0.5) }
	fmt.Printf("%-3s %-34s %4s %10s %19s %9s %8s | %7s %7s %7s\n",
		"", "row", "n", "wall med", "p10-p90", "CPU med", "RSS max", "wall/ref", "CPU/ref", "RSS/ref")
	for _, g := range groups {
		rs := byGroup[g]
		ref := rs[0]
		unit := "ms"
		if ref.mode == "loop" {
			unit = "ns"
		}
		for i, r := range rs {
			rssMax := 0.0
			for _, x := range r.rss {
				if x > rssMax {
					rssMax = x
				}
			}
			refRSS := 0.0
			for _, x := range ref.rss {
				if x > refRSS {
					refRSS = x
				}
			}
			rw, rc, rr := ratio(med(r.wall), med(ref.wall)), ratio(med(r.cpu), med(ref.cpu)), ratio(rssMax, refRSS)
			if i == 0 {
				rw, rc, rr = "ref", "ref", "ref"
			}
			cpu := fmt.Sprintf("%.1fms", med(r.cpu))
			if r.mode == "conc" {
				cpu = fmt.Sprintf("%.0fms", med(r.cpu))
			}
			fmt.Printf("%-3s %-34s %4d %8.2f%s %8.2f-%8.2f%s %9s %6.1fMB | %7s %7s %7s\n",
				g, r.label, len(r.wall), med(r.wall), unit, pct(r.wall, 0.1), pct(r.wall, 0.9), unit,
				cpu, rssMax, rw, rc, rr)
			if r.fails > 0 {
				fmt.Printf("    ! %d failed runs; first: %.300s\n", r.fails, r.firstErr)
			}
		}
	}

	// targets: groups named a..e, rows found by label prefix.
	find := func(g, prefix string) *row {
		for _, r := range byGroup[g] {
			if strings.HasPrefix(r.label, prefix) {
				return r
			}
		}
		return nil
	}
	maxOf := func(v []float64) float64 {
		m := 0.0
		for _, x := range v {
			if x > m {
				m = x
			}
		}
		return m
	}
	rt := func(g, num, den string, f func([]float64) float64, field func(*row) []float64) string {
		a, b := find(g, num), find(g, den)
		if a == nil || b == nil {
			return "n/a"
		}
		return ratio(f(field(a)), f(field(b)))
	}
	wall := func(r *row) []float64 { return r.wall }
	rssf := func(r *row) []float64 { return r.rss }
	seccomp := "n/a"
	if a, b := find("d", "sandbox"), find("d", "bwrap (ours"); a != nil && b != nil && med(b.wall) > 0 && med(a.wall) > 0 {
		seccomp = fmt.Sprintf("%+.1f%%", (med(a.wall)/med(b.wall)-1)*100)
	}
	fmt.Printf("\ntargets (measured, ours/bwrap 0.8.0): start-up median (a) <=1.0x: sandbox %s, bwrap-personality %s; (b) <=1.0x: sandbox %s, bwrap-personality %s; RSS <=2x: (a) %s (b) %s; %d concurrent no slower (<=1.0x): sandbox %s, bwrap-personality %s; seccomp overhead <=10%%: %s\n",
		rt("a", "sandbox", "bwrap 0.8", med, wall), rt("a", "bwrap (ours", "bwrap 0.8", med, wall),
		rt("b", "sandbox", "bwrap 0.8", med, wall), rt("b", "bwrap (ours", "bwrap 0.8", med, wall),
		rt("a", "sandbox", "bwrap 0.8", maxOf, rssf), rt("b", "sandbox", "bwrap 0.8", maxOf, rssf), *conc,
		rt("c", "sandbox", "bwrap 0.8", med, wall), rt("c", "bwrap (ours", "bwrap 0.8", med, wall),
		seccomp)
}
