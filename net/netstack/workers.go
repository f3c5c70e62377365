package netstack

import (
	"sync"
	"sync/atomic"
)

// maxIdleWorkers bounds the workers kept waiting for work, each with its
// grown stack (16-32 KiB); more exit when they finish.
const maxIdleWorkers = 32

// workers runs functions in goroutines that outlive them: a worker that has
// finished one function waits for the next, unless maxIdle workers wait
// already. A new goroutine starts with a 2 KiB stack, and the connection path
// (the handshake's ISN hash, the stack's send and receive paths) grows it to
// 16-32 KiB, copying it each time it doubles: 5% of the stack's CPU in the
// connect+request+close benchmark (BenchmarkForward, connsline). A worker's
// stack stays grown. An idle worker has no timer: timers cost the scheduler
// on every pass, and the bound on idle workers is what frees a burst's.
//
// The zero value is not usable; see newWorkers.
type workers struct {
	work    chan func()   // unbuffered: only an idle worker takes from it
	quit    chan struct{} // closed by stop
	maxIdle int32
	idle    atomic.Int32 // workers waiting for work, about
	wg      sync.WaitGroup
}

func newWorkers(maxIdle int32) *workers {
	return &workers{work: make(chan func()), quit: make(chan struct{}), maxIdle: maxIdle}
}

// Go runs f in an idle worker if there is one, in a new worker otherwise.
//
// Preconditions: stop has not been called.
func (w *workers) Go(f func()) {
	select {
	case w.work <- f:
	default:
		w.wg.Add(1)
		go w.loop(f)
	}
}

func (w *workers) loop(f func()) {
	defer w.wg.Done()
	for {
		f()
		f = nil // not kept alive while idle
		if w.idle.Add(1) > w.maxIdle {
			w.idle.Add(-1)
			return
		}
		select {
		case f = <-w.work:
			w.idle.Add(-1)
		case <-w.quit:
			return
		}
	}
}

// stop makes idle workers exit and waits for every worker to return.
//
// Preconditions: the functions given to Go return (stop waits for them), and
// no Go call runs or follows.
func (w *workers) stop() {
	close(w.quit)
	w.wg.Wait()
}
