package netstack

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// hostStream is the host side of a forwarded TCP connection: a socket the
// stack dialled (hostTCP) or accepted on a published port (*net.TCPConn).
type hostStream interface {
	Read([]byte) (int, error)
	Write([]byte) (int, error)
	CloseWrite() error
	Close() error
	SetLinger(sec int) error
}

// hostTCP is a TCP socket the stack dialled on the host. It is an os.File
// in the runtime poller, not a net.TCPConn: net.Dialer spends a third more
// CPU per connection than the few syscalls below (address resolution for an
// address already numeric, getsockname, a context watcher per dial), and
// net.FileConn could only wrap the fd after dup'ing it.
//
// Its socket options cost a syscall each, and most forwarded connections
// are short: both are set only once they can make a difference (see Write
// and keepAlive).
type hostTCP struct {
	f  *os.File
	rc syscall.RawConn

	// Write's own (one goroutine writes): TCP_NODELAY is set; a write
	// went out without it.
	noDelay, wrote bool
	// keepAlive sets SO_KEEPALIVE keepAliveAfter after the dial.
	keepAlive *time.Timer
}

// nagleFree is the most a first write may carry to go out whole at once
// with Nagle's algorithm still on: nothing is unacknowledged yet, and the
// segment is not split (536 is the smallest MSS an IPv4 peer may announce
// without going below the RFC 1122 default; 512 leaves room for options).
const nagleFree = 512

// keepAliveAfter is when a dialled connection still open gets SO_KEEPALIVE
// (a safety net for host peers that vanish, with the host's timers, 2 hours
// by default: a minute late changes nothing; the sandbox's own keepalives
// end at the stack).
const keepAliveAfter = time.Minute

func (c *hostTCP) Read(b []byte) (int, error) { return c.f.Read(b) }

// Write writes b with TCP_NODELAY, which it sets first unless this is a
// first write of at most nagleFree bytes (Nagle's algorithm holds back a
// small segment only while data is unacknowledged): a request-and-answer
// connection makes one syscall less. The stack passes on writes as the
// sandbox makes them; its own Nagle, if any, ran in the sandbox's kernel.
func (c *hostTCP) Write(b []byte) (int, error) {
	if !c.noDelay {
		if c.wrote || len(b) > nagleFree {
			err := c.control(func(fd int) error {
				return unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
			})
			if err != nil {
				return 0, os.NewSyscallError("setsockopt", err)
			}
			c.noDelay = true
		}
		c.wrote = true
	}
	return c.f.Write(b)
}

// Close closes the socket; later calls return an error.
func (c *hostTCP) Close() error {
	if c.keepAlive != nil {
		c.keepAlive.Stop()
	}
	return c.f.Close()
}

// newHostTCP wraps fd, a non-blocking socket, which os.NewFile then puts in
// the poller, and arms the timer that sets SO_KEEPALIVE.
func newHostTCP(fd int) (*hostTCP, error) {
	c := &hostTCP{f: os.NewFile(uintptr(fd), "tcp")}
	var err error
	if c.rc, err = c.f.SyscallConn(); err != nil {
		c.f.Close()
		return nil, err
	}
	c.keepAlive = time.AfterFunc(keepAliveAfter, func() {
		// An error is a socket closed meanwhile, or one that
		// failed: nothing to keep alive.
		c.control(func(fd int) error {
			return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
		})
	})
	return c, nil
}

// CloseWrite shuts down the sending side (FIN).
func (c *hostTCP) CloseWrite() error {
	return c.control(func(fd int) error { return unix.Shutdown(fd, unix.SHUT_WR) })
}

// SetLinger sets SO_LINGER; 0 makes Close send a RST.
func (c *hostTCP) SetLinger(sec int) error {
	return c.control(func(fd int) error {
		return unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: int32(sec)})
	})
}

func (c *hostTCP) control(f func(fd int) error) error {
	var err error
	if cerr := c.rc.Control(func(fd uintptr) { err = f(int(fd)) }); cerr != nil {
		return cerr
	}
	return err
}

// dialHost connects a TCP socket to dst. It returns when the connection is
// established, refused, or dialTimeout has passed, or at once with an error
// when ctx is done; closing the returned socket's registration (see track)
// is the caller's. The socket gets TCP_NODELAY and SO_KEEPALIVE later (see
// hostTCP).
func dialHost(ctx context.Context, dst netip.AddrPort, track func(*hostTCP) func()) (*hostTCP, error) {
	family, sa := sockaddr(dst)
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	cerr := unix.Connect(fd, sa)
	if cerr != nil && cerr != unix.EINPROGRESS && cerr != unix.EINTR {
		unix.Close(fd)
		return nil, os.NewSyscallError("connect", cerr)
	}
	c, err := newHostTCP(fd)
	if err != nil {
		return nil, err
	}
	if cerr == nil {
		return c, nil
	}
	// On a local or veth path the handshake has often completed by the
	// time connect returns: then no deadline, no wait.
	if connected, err := c.connected(); connected || err != nil {
		if err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	untrack := track(c)
	defer untrack()
	if err := ctx.Err(); err != nil {
		c.Close()
		return nil, err
	}
	c.f.SetWriteDeadline(time.Now().Add(dialTimeout))
	var connErr error
	werr := c.rc.Write(func(fd uintptr) bool {
		// Writable means connected or failed (connect(2), EINPROGRESS).
		var connected bool
		connected, connErr = connState(int(fd))
		return connected || connErr != nil
	})
	if werr == nil {
		werr = connErr
	}
	if werr != nil {
		c.Close()
		if errors.Is(werr, os.ErrDeadlineExceeded) {
			werr = errDialTimeout
		}
		return nil, werr
	}
	c.f.SetWriteDeadline(time.Time{})
	return c, nil
}

// connected reports whether the connect has completed, or its error.
func (c *hostTCP) connected() (bool, error) {
	var ok bool
	err := c.control(func(fd int) error {
		var err error
		ok, err = connState(fd)
		return err
	})
	return ok, err
}

// connState tells a connected socket (getpeername works), a failed connect
// (SO_ERROR) and one still in progress apart; getpeername first, as a
// connected socket is the common case.
func connState(fd int) (bool, error) {
	if _, err := unix.Getpeername(fd); err == nil {
		return true, nil
	}
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	switch {
	case err != nil:
		return false, os.NewSyscallError("getsockopt", err)
	case v == 0, unix.Errno(v) == unix.EINPROGRESS, unix.Errno(v) == unix.EALREADY, unix.Errno(v) == unix.EINTR:
		return false, nil
	default:
		return false, os.NewSyscallError("connect", unix.Errno(v))
	}
}

// errDialTimeout is a host dial that took longer than dialTimeout.
var errDialTimeout = errors.New("connect: timed out")

// sockaddr is dst as a socket address.
func sockaddr(dst netip.AddrPort) (int, unix.Sockaddr) {
	if dst.Addr().Is4() {
		return unix.AF_INET, &unix.SockaddrInet4{Port: int(dst.Port()), Addr: dst.Addr().As4()}
	}
	return unix.AF_INET6, &unix.SockaddrInet6{Port: int(dst.Port()), Addr: dst.Addr().As16()}
}
