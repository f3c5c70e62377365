// Command benchnet is the helper of scripts/bench-net (a benchmark of the
// user-mode network backends, not a test). It has three parts:
//
//	benchnet serve ADDR
//	    a TCP server for the connection-rate test: for each connection it
//	    reads one request line, answers one line and closes first (so the
//	    TIME_WAIT states pile up on the server's side, not on the ports of
//	    the stack under test). Runs until killed.
//
//	benchnet connrate [-workers N] [-t DURATION] ADDR
//	    the client: N workers each make connect+request+response+close
//	    cycles for DURATION; prints one JSON line
//	    {"conns":..,"errors":..,"seconds":..,"rate":..,"first_error":".."}.
//
//	benchnet watch -o FILE [-interval D] [-timeout D] -- CMD [ARG...]
//	    runs CMD as a child subreaper (so daemons that CMD's descendants
//	    start and orphan, like pasta, stay its descendants), samples every
//	    process below it (pid, ppid, comm, exe, VmHWM = the kernel's peak
//	    RSS of that process, and its user+system CPU time in clock ticks
//	    as last seen, up to one interval short) until CMD exits and its
//	    orphans are gone (at
//	    most 3 s more, then they are killed), writes them to FILE as JSON
//	    ({"cmd_pid":..,"exit":..,"timed_out":..,"procs":[..]}) and exits
//	    with CMD's status. After -timeout CMD gets SIGTERM, 5 s later
//	    everything below watch gets SIGKILL. -nofile N (or "max": the hard
//	    limit) sets the soft RLIMIT_NOFILE that CMD inherits (without it,
//	    CMD gets the limit watch was started with).
//
// Only the standard library: it is built with CGO_ENABLED=0 and bound into
// the sandbox as a static binary.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func usage() {
	fmt.Fprintln(os.Stderr, `usage: benchnet serve ADDR
       benchnet connrate [-workers N] [-t DURATION] ADDR
       benchnet watch -o FILE [-interval DURATION] -- CMD [ARG...]`)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2:])
	case "connrate":
		connrate(os.Args[2:])
	case "watch":
		os.Exit(watch(os.Args[2:]))
	default:
		usage()
	}
}

// ---------------------------------------------------------------- serve ---

func serve(args []string) {
	if len(args) != 1 {
		usage()
	}
	ln, err := net.Listen("tcp", args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchnet serve:", err)
		os.Exit(1)
	}
	fmt.Printf("benchnet: serving on %s (pid %d)\n", ln.Addr(), os.Getpid())
	for {
		c, err := ln.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			// EMFILE and the like: back off a little.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			r := bufio.NewReaderSize(c, 256)
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			c.Write([]byte("ok\n"))
		}(c)
	}
}

// ------------------------------------------------------------- connrate ---

func connrate(args []string) {
	fs := flag.NewFlagSet("connrate", flag.ExitOnError)
	workers := fs.Int("workers", 4, "concurrent workers")
	dur := fs.Duration("t", 5*time.Second, "how long")
	timeout := fs.Duration("timeout", 3*time.Second, "per-connection timeout")
	fs.Parse(args)
	if fs.NArg() != 1 {
		usage()
	}
	addr := fs.Arg(0)
	var conns, errs atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	deadline := start.Add(*dur)
	var wg sync.WaitGroup
	for i := 0; i < *workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64)
			for time.Now().Before(deadline) {
				if err := cycle(addr, *timeout, buf); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					// Don't spin on an error that comes back at once.
					time.Sleep(5 * time.Millisecond)
					continue
				}
				conns.Add(1)
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	out := map[string]any{
		"conns":   conns.Load(),
		"errors":  errs.Load(),
		"seconds": secs,
		"rate":    float64(conns.Load()) / secs,
		"workers": *workers,
	}
	if e, ok := firstErr.Load().(string); ok {
		out["first_error"] = e
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}

// cycle: connect, send one line, read the answer to EOF, close.
func cycle(addr string, timeout time.Duration, buf []byte) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("hello\n")); err != nil {
		return err
	}
	n := 0
	for {
		k, err := c.Read(buf[n:])
		n += k
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if n == len(buf) {
			return fmt.Errorf("answer too long")
		}
	}
	if string(buf[:n]) != "ok\n" {
		return fmt.Errorf("bad answer %q", buf[:n])
	}
	return nil
}

// ---------------------------------------------------------------- watch ---

type procInfo struct {
	PID   int    `json:"pid"`
	PPID  int    `json:"ppid"`
	Comm  string `json:"comm"`
	Exe   string `json:"exe"`
	HWMkB int64  `json:"hwm_kb"`
	// CPUTicks is utime+stime (proc(5) /proc/PID/stat fields 14 and 15,
	// in sysconf(_SC_CLK_TCK) units, 100 on Linux) at the last sample.
	CPUTicks int64 `json:"cpu_ticks"`
}

func watch(args []string) int {
	fs := flag.NewFlagSet("watch", flag.ExitOnError)
	out := fs.String("o", "", "output file (JSON)")
	interval := fs.Duration("interval", 100*time.Millisecond, "sampling interval")
	timeout := fs.Duration("timeout", 0, "SIGTERM the command after this long (0: never)")
	nofile := fs.String("nofile", "", `soft RLIMIT_NOFILE for the command: a number or "max" (the hard limit)`)
	fs.Parse(args)
	if *out == "" || fs.NArg() == 0 {
		usage()
	}
	argv := fs.Args()
	if *nofile != "" {
		// An explicit Setrlimit also stops Go from restoring the limit it
		// found at start in the children it forks.
		var rl syscall.Rlimit
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
		if *nofile == "max" {
			rl.Cur = rl.Max
		} else if n, err := strconv.ParseUint(*nofile, 10, 64); err == nil && n <= rl.Max {
			rl.Cur = n
		} else {
			fmt.Fprintf(os.Stderr, "benchnet watch: bad -nofile %q (hard limit %d)\n", *nofile, rl.Max)
			return 2
		}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			fmt.Fprintln(os.Stderr, "benchnet watch: setrlimit:", err)
			return 2
		}
	}
	// PR_SET_CHILD_SUBREAPER = 36
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, 36, 1, 0); e != 0 {
		fmt.Fprintln(os.Stderr, "benchnet watch: PR_SET_CHILD_SUBREAPER:", e)
	}
	path := argv[0]
	if !strings.Contains(path, "/") {
		p, err := lookPath(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchnet watch:", err)
			return 127
		}
		path = p
	}
	// Signals meant for the benchmark go to the command.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchnet watch:", err)
		return 127
	}
	self := os.Getpid()
	seen := map[int]*procInfo{}
	status := -1
	var cmdDone time.Time
	started := time.Now()
	timedOut, killed := false, false
	ticker := time.NewTicker(*interval)
	defer ticker.Stop()
	for {
		sample(self, seen)
		// Reap whatever has exited (the command, orphans given to us).
		for {
			var ws syscall.WaitStatus
			p, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if p <= 0 || err != nil {
				break
			}
			if p == pid {
				cmdDone = time.Now()
				switch {
				case ws.Exited():
					status = ws.ExitStatus()
				case ws.Signaled():
					status = 128 + int(ws.Signal())
				default:
					status = 1
				}
			}
		}
		if !cmdDone.IsZero() {
			left := descendants(self)
			if len(left) == 0 {
				break
			}
			if time.Since(cmdDone) > 3*time.Second {
				// Orphans that outlived the command by 3 s: not ours to keep.
				for _, p := range left {
					syscall.Kill(p, syscall.SIGKILL)
				}
				reapFor(time.Second)
				break
			}
		} else if *timeout > 0 && !timedOut && time.Since(started) > *timeout {
			timedOut = true
			fmt.Fprintf(os.Stderr, "benchnet watch: %s: timed out after %s, SIGTERM\n", argv[0], *timeout)
			syscall.Kill(pid, syscall.SIGTERM)
		} else if timedOut && !killed && time.Since(started) > *timeout+5*time.Second {
			killed = true
			for _, p := range descendants(self) {
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
		select {
		case s := <-sigs:
			syscall.Kill(pid, s.(syscall.Signal))
		case <-ticker.C:
		}
	}
	list := make([]*procInfo, 0, len(seen))
	for _, p := range seen {
		list = append(list, p)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].PID < list[j].PID })
	b, _ := json.MarshalIndent(map[string]any{"cmd_pid": pid, "exit": status, "timed_out": timedOut, "procs": list}, "", " ")
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "benchnet watch:", err)
	}
	return status
}

// reapFor reaps exited children for up to d.
func reapFor(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		var ws syscall.WaitStatus
		p, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.ECHILD {
			return
		}
		if p <= 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func lookPath(name string) (string, error) {
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in PATH", name)
}

// parents maps every pid in /proc to its parent pid.
func parents() map[int]int {
	m := map[int]int{}
	d, err := os.ReadDir("/proc")
	if err != nil {
		return m
	}
	for _, e := range d {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		m[pid] = pp
	}
	return m
}

func descendants(root int) []int {
	pp := parents()
	kids := map[int][]int{}
	for p, q := range pp {
		kids[q] = append(kids[q], p)
	}
	var out []int
	todo := []int{root}
	for len(todo) > 0 {
		p := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, k := range kids[p] {
			out = append(out, k)
			todo = append(todo, k)
		}
	}
	return out
}

func sample(root int, seen map[int]*procInfo) {
	for _, pid := range descendants(root) {
		dir := "/proc/" + strconv.Itoa(pid)
		b, err := os.ReadFile(dir + "/status")
		if err != nil {
			continue
		}
		info := seen[pid]
		if info == nil {
			info = &procInfo{PID: pid}
			seen[pid] = info
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch k {
			case "Name":
				info.Comm = v
			case "PPid":
				info.PPID, _ = strconv.Atoi(v)
			case "VmHWM":
				n, _ := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
				if n > info.HWMkB {
					info.HWMkB = n
				}
			}
		}
		if exe, err := os.Readlink(dir + "/exe"); err == nil {
			info.Exe = exe
		}
		if t, ok := cpuTicks(dir); ok && t > info.CPUTicks {
			info.CPUTicks = t
		}
	}
}

// cpuTicks reads utime+stime from dir/stat (the fields after comm, which may
// hold spaces and parentheses).
func cpuTicks(dir string) (int64, bool) {
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return u + st, true
}
