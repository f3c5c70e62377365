package netstack

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// waitGoroutines waits up to a second for the number of goroutines to drop
// to at most n (a goroutine that has called wg.Done may still be exiting).
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, want at most %d", runtime.NumGoroutine(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWorkersRunConcurrently(t *testing.T) {
	before := runtime.NumGoroutine()
	w := newWorkers(maxIdleWorkers)
	// Go never blocks: functions that all wait for each other run at once,
	// each in its own worker.
	burst(w, 20)
	// Idle workers take more work; stop ends them all.
	ran := make(chan struct{})
	w.Go(func() { close(ran) })
	<-ran
	w.stop()
	waitGoroutines(t, before)
}

func TestWorkersStopWaitsForRunning(t *testing.T) {
	before := runtime.NumGoroutine()
	w := newWorkers(maxIdleWorkers)
	release := make(chan struct{})
	finished := false
	running := make(chan struct{})
	w.Go(func() {
		close(running)
		<-release
		finished = true
	})
	<-running
	stopped := make(chan struct{})
	go func() { w.stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("stop returned while a function was running")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	<-stopped
	if !finished {
		t.Fatal("stop returned before the function did")
	}
	waitGoroutines(t, before)
}

func TestWorkersIdleBound(t *testing.T) {
	before := runtime.NumGoroutine()
	const maxIdle = 2
	w := newWorkers(maxIdle)
	// A burst of 10 concurrent functions: 10 workers, of which 2 stay.
	burst(w, 10)
	waitGoroutines(t, before+maxIdle)
	for deadline := time.Now().Add(time.Second); w.idle.Load() != maxIdle; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d idle workers, want %d", w.idle.Load(), maxIdle)
		}
	}
	w.stop()
	waitGoroutines(t, before)
}

// burst runs n functions through w that wait until all n have started (so
// each needs a worker of its own), and returns once they have all finished.
func burst(w *workers, n int) {
	var started, done sync.WaitGroup
	release := make(chan struct{})
	started.Add(n)
	done.Add(n)
	for range n {
		w.Go(func() {
			started.Done()
			<-release
			done.Done()
		})
	}
	started.Wait()
	close(release)
	done.Wait()
}
