//go:build linux

package sigpipe

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// One Catch per process: the subtests share it, in order.
func TestCatch(t *testing.T) {
	// A signal that cannot be caught fails Catch, and the ones before it
	// get their old actions back (the runtime's handler here).
	before := action(t, syscall.SIGUSR2)
	if _, err := Catch(syscall.SIGUSR2, syscall.SIGKILL); err == nil {
		t.Fatal("Catch accepted SIGKILL")
	}
	if after := action(t, syscall.SIGUSR2); after != before {
		t.Fatalf("after a failed Catch, SIGUSR2's action is %+v, was %+v", after, before)
	}

	caught := []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}
	f, err := Catch(caught...)
	if err != nil {
		t.Fatal(err)
	}
	sigs := make(chan os.Signal, 4096)
	go Forward(f, sigs)
	next := func(t *testing.T) syscall.Signal {
		t.Helper()
		select {
		case s := <-sigs:
			return s.(syscall.Signal)
		case <-time.After(10 * time.Second):
			t.Fatal("no signal arrived on the pipe")
			return 0
		}
	}

	t.Run("each signal's number", func(t *testing.T) {
		for _, s := range caught {
			if err := unix.Kill(os.Getpid(), s); err != nil {
				t.Fatal(err)
			}
			if got := next(t); got != s {
				t.Fatalf("sent %v, the pipe says %v", s, got)
			}
		}
	})

	t.Run("on every thread, under load", func(t *testing.T) {
		// The signals land on the runtime's threads while goroutines
		// allocate (the collector runs, the runtime preempts with its own
		// signal): the handler must neither crash the process nor disturb
		// the goroutines it interrupts.
		var stop atomic.Bool
		var wg sync.WaitGroup
		var sink atomic.Pointer[[]byte]
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					b := make([]byte, 1<<12)
					sink.Store(&b)
				}
			}()
		}
		sent := 0
		for i := 0; i < 2000; i++ {
			for _, tid := range threads(t) {
				if unix.Tgkill(os.Getpid(), tid, syscall.SIGUSR2) == nil {
					sent++
				}
			}
			if i%100 == 0 {
				runtime.GC()
			}
		}
		stop.Store(true)
		wg.Wait()
		if got := next(t); got != syscall.SIGUSR2 {
			t.Fatalf("got %v, want SIGUSR2", got)
		}
		// Pending signals coalesce: fewer bytes than signals sent, each
		// of them SIGUSR2.
		n := 1
		for drained := false; !drained; {
			select {
			case s := <-sigs:
				if s != syscall.SIGUSR2 {
					t.Fatalf("got %v among the SIGUSR2s", s)
				}
				n++
			case <-time.After(200 * time.Millisecond):
				drained = true
			}
		}
		t.Logf("%d signals sent to the threads, %d written to the pipe", sent, n)
	})

	t.Run("system calls restart", func(t *testing.T) {
		// A blocking read in another thread goes on through the signals
		// (SA_RESTART): it returns with the byte written after them.
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		defer unix.Close(p[0])
		defer unix.Close(p[1])
		done := make(chan error, 1)
		tid := make(chan int, 1)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			tid <- unix.Gettid()
			var b [1]byte
			_, err := unix.Read(p[0], b[:])
			done <- err
		}()
		id := <-tid
		time.Sleep(50 * time.Millisecond)
		for i := 0; i < 20; i++ {
			unix.Tgkill(os.Getpid(), id, syscall.SIGUSR1)
			time.Sleep(time.Millisecond)
		}
		unix.Write(p[1], []byte{1})
		if err := <-done; err != nil {
			t.Fatalf("read interrupted: %v", err)
		}
		for next(t) != syscall.SIGUSR1 {
		}
	})

	t.Run("twice", func(t *testing.T) {
		if _, err := Catch(syscall.SIGUSR1); err == nil {
			t.Fatal("a second Catch was accepted")
		}
	})
}

func threads(t *testing.T) []int {
	d, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, e := range d {
		if id, err := strconv.Atoi(e.Name()); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}
