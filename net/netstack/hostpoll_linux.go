package netstack

import (
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// hostPoller tells the goroutines that use the stack's host sockets when a
// socket is ready, from an epoll instance of its own, which sits in the Go
// runtime's poller as a single descriptor. Every syscall on those sockets is
// a raw one (hostpoll_unsafe.go): none of them blocks, and none goes through
// the runtime's syscall path.
//
// Why not os.File and the runtime's poller: there each read, write, close
// and fcntl of a socket enters that path (entersyscall), and when every P
// was idle, which the stack is between two packets, that wakes the
// runtime's sysmon thread from its deep sleep and resets it to waking every
// 20 µs for the next millisecond or more. A forwarded connection makes
// several such calls, so sysmon hardly slept: per connection 1.5 voluntary
// context switches of the stack's process and about 80 µs of its CPU (326
// vs 242 µs, measured with a runtime whose sysmon ignores those wake-ups).
type hostPoller struct {
	epfd  int
	f     *os.File // epfd, in the runtime's poller
	rc    syscall.RawConn
	done  chan struct{} // loop has returned
	stop  chan struct{} // closed by Close: ends sweeps
	swept chan struct{} // sweeps has returned

	mu   sync.Mutex
	fds  map[uint64]*hostFD // by token
	next uint64             // the last token given out
}

// newHostPoller creates the epoll instance and starts the goroutine that
// waits on it.
func newHostPoller() (*hostPoller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// os.NewFile puts only a non-blocking descriptor in the runtime's
	// poller. (O_NONBLOCK changes nothing else for an epoll descriptor:
	// epoll_pwait takes a timeout.)
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	p := &hostPoller{epfd: epfd, f: os.NewFile(uintptr(epfd), "hostpoll"), fds: make(map[uint64]*hostFD),
		done: make(chan struct{}), stop: make(chan struct{}), swept: make(chan struct{})}
	if p.rc, err = p.f.SyscallConn(); err != nil {
		p.f.Close()
		return nil, err
	}
	go p.loop()
	go p.sweeps()
	return p, nil
}

// sweeps runs sweepKeepAlive every half keepAliveAfter until Close.
func (p *hostPoller) sweeps() {
	defer close(p.swept)
	t := time.NewTicker(keepAliveAfter / 2)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			p.sweepKeepAlive(now)
		case <-p.stop:
			return
		}
	}
}

// sweepKeepAlive sets SO_KEEPALIVE on the open TCP sockets whose time for it
// (hostFD.keepAliveAt) has come by now. One sweep for all of them rather
// than a timer per connection, most of which close within a second. An
// error is a socket closed meanwhile, or one that failed: nothing to keep
// alive.
func (p *hostPoller) sweepKeepAlive(now time.Time) {
	var due []*hostFD
	p.mu.Lock()
	for _, h := range p.fds {
		if at := h.keepAliveAt.Load(); at != 0 && at <= now.UnixNano() {
			due = append(due, h)
		}
	}
	p.mu.Unlock()
	for _, h := range due {
		h.keepAliveAt.Store(0)
		h.control("setsockopt", func(fd int) unix.Errno {
			return rawSetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
		})
	}
}

// loop hands the ready events to the sockets' goroutines until Close. The
// runtime registers epfd edge-triggered, so each wake-up drains every event
// there is before it waits again.
func (p *hostPoller) loop() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 128)
	p.rc.Read(func(fd uintptr) bool {
		for {
			n, errno := rawEpollWait(int(fd), events)
			switch {
			case errno == unix.EINTR:
				continue
			case errno != 0:
				// EBADF, EFAULT or EINVAL: arguments of ours, and
				// epfd stays open while the runtime calls this.
				panic("netstack: epoll_pwait of the host poller: " + errno.Error())
			}
			p.dispatch(events[:n])
			if n < len(events) {
				return false // wait for the next edge
			}
		}
	})
}

func (p *hostPoller) dispatch(events []unix.EpollEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range events {
		e := &events[i]
		h := p.fds[uint64(uint32(e.Fd))|uint64(uint32(e.Pad))<<32]
		if h == nil {
			continue // closed meanwhile
		}
		if e.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			notify(h.readable)
		}
		if e.Events&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			notify(h.writable)
		}
	}
}

// notify leaves a token in ch, a channel of capacity 1, unless one is there.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// add takes ownership of fd, a non-blocking socket, and watches it;
// datagram tells a datagram socket (UDP), whose empty reads are empty
// datagrams, from a stream socket. On an error fd is closed.
func (p *hostPoller) add(fd int, datagram bool) (*hostFD, error) {
	h := &hostFD{p: p, fd: fd, datagram: datagram, readable: make(chan struct{}, 1), writable: make(chan struct{}, 1), closed: make(chan struct{})}
	h.state.Store(fdRef)
	p.mu.Lock()
	p.next++
	h.token = p.next
	p.fds[h.token] = h
	p.mu.Unlock()
	ev := unix.EpollEvent{
		Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET,
		Fd:     int32(uint32(h.token)), Pad: int32(uint32(h.token >> 32)),
	}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		h.Close()
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return h, nil
}

// Close closes the epoll instance once the stack's sockets are closed, and
// waits for its goroutines to return.
func (p *hostPoller) Close() error {
	close(p.stop)
	err := p.f.Close()
	<-p.done
	<-p.swept
	return err
}

// open reports how many sockets are open (for the tests).
func (p *hostPoller) open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.fds)
}

// hostFD is a non-blocking host socket watched by a hostPoller. Read, Write
// and control may run in different goroutines, and Close in any goroutine
// at any time: it wakes a blocked Read or Write, and the descriptor itself is
// closed when the last call still using it returns, so a number reused by a
// later socket is never read or written by mistake.
type hostFD struct {
	p        *hostPoller
	fd       int
	token    uint64 // p.fds key, never reused (fd numbers are)
	datagram bool

	// The reading goroutine's own (see SetReadDeadline).
	readDeadline time.Time
	readTimer    *time.Timer

	// readable and writable hold a token once loop saw the socket become
	// so (edge-triggered): a call that got EAGAIN waits for the next one.
	// A token left from before the EAGAIN only costs one more try.
	readable, writable chan struct{}
	closed             chan struct{} // closed by Close

	// state counts references, fdRef each (one for the open descriptor,
	// one per call in progress), plus fdClosing once Close was called.
	state atomic.Int64
	// keepAliveAt is when a TCP socket gets SO_KEEPALIVE (unix
	// nanoseconds; 0: never, or done), see sweepKeepAlive.
	keepAliveAt atomic.Int64
}

const (
	fdClosing = 1
	fdRef     = 2
)

// acquire takes a reference for a call; false once Close was called.
func (h *hostFD) acquire() bool {
	for {
		s := h.state.Load()
		if s&fdClosing != 0 {
			return false
		}
		if h.state.CompareAndSwap(s, s+fdRef) {
			return true
		}
	}
}

// release drops a reference; the last one after Close closes the socket.
func (h *hostFD) release() {
	if h.state.Add(-fdRef) == fdClosing {
		h.p.mu.Lock()
		delete(h.p.fds, h.token)
		h.p.mu.Unlock()
		// Closing the socket also takes it out of the epoll set (it has
		// no other descriptor).
		rawClose(h.fd)
	}
}

// Close wakes the calls blocked on the socket and closes it once they have
// returned. Later calls return net.ErrClosed.
func (h *hostFD) Close() error {
	for {
		s := h.state.Load()
		if s&fdClosing != 0 {
			return net.ErrClosed
		}
		if h.state.CompareAndSwap(s, s|fdClosing) {
			break
		}
	}
	close(h.closed)
	h.release()
	return nil
}

// wait blocks until ch has a token or the socket is closed.
func (h *hostFD) wait(ch chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-h.closed:
		return net.ErrClosed
	}
}

func (h *hostFD) waitWritable() error { return h.wait(h.writable) }

// SetReadDeadline makes a Read that waits until t return
// os.ErrDeadlineExceeded; the zero time waits for ever. Only the goroutine
// that reads may call it.
func (h *hostFD) SetReadDeadline(t time.Time) error {
	h.readDeadline = t
	return nil
}

// waitReadable waits for the readable token, the socket's Close or the read
// deadline.
func (h *hostFD) waitReadable() error {
	if h.readDeadline.IsZero() {
		return h.wait(h.readable)
	}
	d := time.Until(h.readDeadline)
	if d <= 0 {
		return os.ErrDeadlineExceeded
	}
	if h.readTimer == nil {
		h.readTimer = time.NewTimer(d)
	} else {
		h.readTimer.Reset(d)
	}
	defer h.readTimer.Stop()
	select {
	case <-h.readable:
		return nil
	case <-h.closed:
		return net.ErrClosed
	case <-h.readTimer.C:
		return os.ErrDeadlineExceeded
	}
}

// retry runs f on the open descriptor until it neither would block (then it
// waits with wait: waitReadable or waitWritable) nor was interrupted. Any
// other errno is the error, named op.
func (h *hostFD) retry(op string, wait func() error, f func(fd int) unix.Errno) error {
	if !h.acquire() {
		return net.ErrClosed
	}
	defer h.release()
	for {
		switch errno := f(h.fd); errno {
		case 0:
			return nil
		case unix.EAGAIN:
			if err := wait(); err != nil {
				return err
			}
		case unix.EINTR:
		default:
			return os.NewSyscallError(op, errno)
		}
	}
}

// Read reads into b, waiting for data: from a stream socket, io.EOF at its
// end; from a datagram socket, one datagram (truncated to b).
func (h *hostFD) Read(b []byte) (int, error) {
	var n int
	err := h.retry("read", h.waitReadable, func(fd int) (errno unix.Errno) {
		n, errno = rawRead(fd, b)
		return errno
	})
	if err == nil && n == 0 && len(b) > 0 && !h.datagram {
		return 0, io.EOF
	}
	return n, err
}

// Write writes all of b, waiting for room in the socket's buffer (to a
// datagram socket: b as one datagram).
func (h *hostFD) Write(b []byte) (int, error) {
	done := 0
	err := h.retry("write", h.waitWritable, func(fd int) unix.Errno {
		for done < len(b) {
			n, errno := rawWrite(fd, b[done:])
			if errno != 0 {
				return errno
			}
			done += n
		}
		return 0
	})
	return done, err
}

// readFrom reads one datagram and its sender from an unconnected datagram
// socket, waiting for one.
func (h *hostFD) readFrom(b []byte) (int, netip.AddrPort, error) {
	var n int
	var from netip.AddrPort
	err := h.retry("recvfrom", h.waitReadable, func(fd int) (errno unix.Errno) {
		n, from, errno = rawRecvfrom(fd, b)
		return errno
	})
	return n, from, err
}

// writeTo sends b as one datagram to dst from an unconnected datagram
// socket; ipv6 tells the socket's family.
func (h *hostFD) writeTo(b []byte, dst netip.AddrPort, ipv6 bool) error {
	return h.retry("sendto", h.waitWritable, func(fd int) unix.Errno {
		return rawSendto(fd, b, dst, ipv6)
	})
}

// accept accepts a connection on a listening socket, waiting for one; the
// new socket is non-blocking and close-on-exec.
func (h *hostFD) accept() (int, error) {
	nfd := -1
	err := h.retry("accept4", h.waitReadable, func(fd int) (errno unix.Errno) {
		for {
			// A connection reset before it was accepted: the next.
			if nfd, errno = rawAccept4(fd); errno != unix.ECONNABORTED {
				return errno
			}
		}
	})
	return nfd, err
}

// control runs f on the open descriptor; f's errno names the syscall op.
func (h *hostFD) control(op string, f func(fd int) unix.Errno) error {
	if !h.acquire() {
		return net.ErrClosed
	}
	defer h.release()
	if errno := f(h.fd); errno != 0 {
		return os.NewSyscallError(op, errno)
	}
	return nil
}
