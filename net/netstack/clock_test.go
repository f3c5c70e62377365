package netstack

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
)

// queuedClock is a clock whose run queues the functions it is given, for the
// test to start; refuse makes run return false.
type queuedClock struct {
	clock
	mu     sync.Mutex
	queue  []func()
	refuse bool
}

func newQueuedClock() *queuedClock {
	c := &queuedClock{}
	c.clock = clock{Clock: tcpip.NewStdClock(), run: func(f func()) bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.refuse {
			return false
		}
		c.queue = append(c.queue, f)
		return true
	}}
	return c
}

// runQueued starts every queued function, in order, and reports how many.
func (c *queuedClock) runQueued() int {
	c.mu.Lock()
	q := c.queue
	c.queue = nil
	c.mu.Unlock()
	for _, f := range q {
		f()
	}
	return len(q)
}

func TestClockDueRunsThroughRun(t *testing.T) {
	c := newQueuedClock()
	var n atomic.Int32
	tm := c.AfterFunc(0, func() { n.Add(1) })
	if n.Load() != 0 {
		t.Fatal("f ran before run started it")
	}
	if q := c.runQueued(); q != 1 || n.Load() != 1 {
		t.Fatalf("queued %d, f ran %d times; want 1 and 1", q, n.Load())
	}
	if tm.Stop() {
		t.Error("Stop after the timer fired = true, want false")
	}
	// Reset after it fired arms it again, through run.
	tm.Reset(0)
	if q := c.runQueued(); q != 1 || n.Load() != 2 {
		t.Fatalf("after Reset: queued %d, f ran %d times; want 1 and 2", q, n.Load())
	}
}

func TestClockStopBeforeRun(t *testing.T) {
	c := newQueuedClock()
	var n atomic.Int32
	tm := c.AfterFunc(0, func() { n.Add(1) })
	if !tm.Stop() {
		t.Error("Stop before the run = false, want true")
	}
	if tm.Stop() {
		t.Error("second Stop = true, want false")
	}
	c.runQueued()
	if n.Load() != 0 {
		t.Fatal("a stopped timer's f ran")
	}
}

func TestClockResetReplacesQueuedRun(t *testing.T) {
	c := newQueuedClock()
	var n atomic.Int32
	tm := c.AfterFunc(-time.Second, func() { n.Add(1) })
	tm.Reset(0) // the first arming's run is stale now
	if q := c.runQueued(); q != 2 || n.Load() != 1 {
		t.Fatalf("queued %d, f ran %d times; want 2 and 1 (the stale run does nothing)", q, n.Load())
	}
}

func TestClockResetLater(t *testing.T) {
	c := newQueuedClock()
	done := make(chan struct{}, 2)
	tm := c.AfterFunc(0, func() { done <- struct{}{} })
	tm.Reset(20 * time.Millisecond)
	c.runQueued() // the first arming's run: stale
	select {
	case <-done:
		t.Fatal("f ran for the replaced arming")
	case <-time.After(5 * time.Millisecond):
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("f did not run after Reset(20ms)")
	}
	// Stopped before it fires, a later arming does not run either.
	tm.Reset(20 * time.Millisecond)
	if !tm.Stop() {
		t.Error("Stop of a later arming = false, want true")
	}
	select {
	case <-done:
		t.Fatal("a stopped later arming ran")
	case <-time.After(100 * time.Millisecond):
	}
}

func TestClockFallsBackWhenRunRefuses(t *testing.T) {
	c := newQueuedClock()
	c.refuse = true // the stack is closing
	done := make(chan struct{})
	c.AfterFunc(0, func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("f did not run in a goroutine of its own")
	}
}

func TestClockPositiveIsStandard(t *testing.T) {
	c := newQueuedClock()
	done := make(chan struct{})
	tm := c.AfterFunc(time.Millisecond, func() { close(done) })
	if _, ours := tm.(*dueTimer); ours {
		t.Error("a timer due later is a dueTimer, want the standard clock's")
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("f did not run")
	}
	if q := c.runQueued(); q != 0 {
		t.Errorf("run was given %d functions for a timer due later", q)
	}
}
