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
type hostTCP struct {
	f  *os.File
	rc syscall.RawConn
}

func (c *hostTCP) Read(b []byte) (int, error)  { return c.f.Read(b) }
func (c *hostTCP) Write(b []byte) (int, error) { return c.f.Write(b) }
func (c *hostTCP) Close() error                { return c.f.Close() }

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
// is the caller's. The socket has SO_KEEPALIVE (with the host's timers: a
// safety net for host peers that vanish; the sandbox's own keepalives end
// at the stack) and TCP_NODELAY (the stack passes on writes as the sandbox
// makes them; its own Nagle, if any, ran in the sandbox's kernel).
func dialHost(ctx context.Context, dst netip.AddrPort, track func(*hostTCP) func()) (*hostTCP, error) {
	family, sa := sockaddr(dst)
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("setsockopt", err)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("setsockopt", err)
	}
	cerr := unix.Connect(fd, sa)
	if cerr != nil && cerr != unix.EINPROGRESS && cerr != unix.EINTR {
		unix.Close(fd)
		return nil, os.NewSyscallError("connect", cerr)
	}
	// Non-blocking, so os.NewFile puts it in the poller.
	c := &hostTCP{f: os.NewFile(uintptr(fd), "tcp")}
	if c.rc, err = c.f.SyscallConn(); err != nil {
		c.f.Close()
		return nil, err
	}
	if cerr == nil {
		return c, nil
	}
	// On a local or veth path the handshake has often completed by the
	// time connect returns: then no deadline, no wait.
	if connected, err := c.connected(); connected || err != nil {
		if err != nil {
			c.f.Close()
			return nil, err
		}
		return c, nil
	}
	untrack := track(c)
	defer untrack()
	if err := ctx.Err(); err != nil {
		c.f.Close()
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
		c.f.Close()
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
