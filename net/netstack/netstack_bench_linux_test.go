package netstack

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkForward compares this stack with slirp4netns (when installed) in
// the same run: bulk TCP both ways between a sandbox netns and a host server,
// and short connections per second, at MTU 65520.
//
//	go test -run '^$' -bench Forward ./net/netstack
func BenchmarkForward(b *testing.B) {
	requireRoot(b)
	hostIP := hostIPv4(b)
	const bulk = 200 << 20
	hs := startHostServers(b, hostIP, bulk)
	for _, backend := range []string{"netstack", "slirp4netns"} {
		b.Run(backend, func(b *testing.B) {
			child, backendCPU := startBackend(b, backend)
			b.Run("up", func(b *testing.B) {
				var secs, cpu float64
				for b.Loop() {
					c := cpuSeconds() + backendCPU()
					r := child.do(b, request{Op: "send", Addr: hs.sink.String(), N: bulk})
					cpu += cpuSeconds() + backendCPU() - c + r.CPU
					if r.Err != "" || r.Out != fmt.Sprint(bulk) {
						b.Fatalf("upload: %+v", r)
					}
					secs += r.Seconds
				}
				b.ReportMetric(float64(bulk)*8*float64(b.N)/secs/1e9, "Gbit/s")
				b.ReportMetric(cpu/float64(b.N)/(float64(bulk)/1e9), "cpu-s/GB")
			})
			b.Run("down", func(b *testing.B) {
				var secs, cpu float64
				for b.Loop() {
					c := cpuSeconds() + backendCPU()
					r := child.do(b, request{Op: "recv", Addr: hs.source.String()})
					cpu += cpuSeconds() + backendCPU() - c + r.CPU
					if r.Err != "" || r.N != bulk {
						b.Fatalf("download: %+v", r)
					}
					secs += r.Seconds
				}
				b.ReportMetric(float64(bulk)*8*float64(b.N)/secs/1e9, "Gbit/s")
				b.ReportMetric(cpu/float64(b.N)/(float64(bulk)/1e9), "cpu-s/GB")
			})
			// conns: connect, read one byte, close; connsline as
			// scripts/bench-net: connect, send a line, read the answer
			// to EOF (the server closes first), close.
			for _, v := range []struct {
				name string
				addr netip.AddrPort
				data string
			}{{"conns", hs.oneByte, ""}, {"connsline", hs.line, "line"}} {
				b.Run(v.name, func(b *testing.B) {
					var n int64
					var secs, cpu float64
					var last string
					for b.Loop() {
						c := cpuSeconds() + backendCPU()
						r := child.do(b, request{Op: "connrate", Addr: v.addr.String(), N: int64(time.Second), Data: v.data})
						cpu += cpuSeconds() + backendCPU() - c
						if r.Err != "" {
							b.Fatalf("connection rate: %+v", r)
						}
						n += r.N
						secs += r.Seconds
						last = r.Out
					}
					b.ReportMetric(float64(n)/secs, "conns/s")
					// The stack's CPU (slirp4netns's process, or
					// ours with the host servers in it), not the
					// sandbox client's.
					b.ReportMetric(cpu*1e6/float64(n), "cpu-us/conn")
					b.Log(last)
				})
			}
		})
	}
}

// startBackend starts a sandbox child networked by backend; the function it
// returns reports the CPU seconds used so far by a backend in its own process.
func startBackend(b *testing.B, backend string) (*sandboxChild, func() float64) {
	switch backend {
	case "netstack":
		child, tap := startSandbox(b, false)
		cfg := DefaultConfig()
		cfg.DNS = fakeDNS
		st, err := New(tap, cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return child, func() float64 { return 0 } // counted in cpuSeconds
	case "slirp4netns":
		path, err := exec.LookPath("slirp4netns")
		if err != nil {
			b.Skip("slirp4netns not installed")
		}
		child, _ := startSandbox(b, true)
		ready, w, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		defer ready.Close()
		cmd := exec.Command(path, "--configure", "--mtu=65520", "--disable-host-loopback",
			"--ready-fd=3", strconv.Itoa(child.cmd.Process.Pid), "tap0")
		cmd.ExtraFiles = []*os.File{w}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		w.Close()
		b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		if _, err := ready.Read(make([]byte, 1)); err != nil {
			b.Fatalf("slirp4netns did not get ready: %v", err)
		}
		return child, func() float64 { return processCPU(cmd.Process.Pid) }
	}
	b.Fatalf("unknown backend %s", backend)
	return nil, nil
}

// processCPU is pid's user+system CPU seconds (proc(5): fields 14 and 15 of
// /proc/pid/stat, in clock ticks of 1/100 s).
func processCPU(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100
}
