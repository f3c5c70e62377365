package netstack

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// hostStream is the host side of a forwarded TCP connection (a hostTCP, or a
// stand-in in tests).
type hostStream interface {
	Read([]byte) (int, error)
	Write([]byte) (int, error)
	CloseWrite() error
	Close() error
	SetLinger(sec int) error
}

// hostTCP is a TCP socket the stack dialled on the host, or accepted on a
// published port, watched by the
// stack's hostPoller (see there why not by the runtime's poller as an
// os.File; net.Dialer would add a third more CPU per connection again:
// address resolution for an address already numeric, getsockname, a context
// watcher per dial).
//
// Its socket options cost a syscall each, and most forwarded connections
// are short: both are set only once they can make a difference (see Write,
// and hostPoller.sweepKeepAlive for SO_KEEPALIVE).
type hostTCP struct {
	h *hostFD

	// Write's own (one goroutine writes): TCP_NODELAY is set; a write
	// went out without it.
	noDelay, wrote bool
}

// nagleFree is the most a first write may carry to go out whole at once
// with Nagle's algorithm still on: nothing is unacknowledged yet, and the
// segment is not split (536 is the smallest MSS an IPv4 peer may announce
// without going below the RFC 1122 default; 512 leaves room for options).
const nagleFree = 512

// keepAliveAfter is when a connection still open gets SO_KEEPALIVE, give or
// take a sweep (a safety net for host peers that vanish, with the host's
// timers, 2 hours by default: a minute late changes nothing; the sandbox's
// own keepalives end at the stack).
const keepAliveAfter = time.Minute

func (c *hostTCP) Read(b []byte) (int, error) { return c.h.Read(b) }

// Write writes b with TCP_NODELAY, which it sets first unless this is a
// first write of at most nagleFree bytes (Nagle's algorithm holds back a
// small segment only while data is unacknowledged): a request-and-answer
// connection makes one syscall less. The stack passes on writes as the
// sandbox makes them; its own Nagle, if any, ran in the sandbox's kernel.
func (c *hostTCP) Write(b []byte) (int, error) {
	if !c.noDelay {
		if c.wrote || len(b) > nagleFree {
			err := c.h.control("setsockopt", func(fd int) unix.Errno {
				return rawSetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
			})
			if err != nil {
				return 0, err
			}
			c.noDelay = true
		}
		c.wrote = true
	}
	return c.h.Write(b)
}

// Close closes the socket; later calls return an error.
func (c *hostTCP) Close() error { return c.h.Close() }

// CloseWrite shuts down the sending side (FIN).
func (c *hostTCP) CloseWrite() error {
	return c.h.control("shutdown", func(fd int) unix.Errno { return rawShutdown(fd, unix.SHUT_WR) })
}

// SetLinger sets SO_LINGER; 0 makes Close send a RST.
func (c *hostTCP) SetLinger(sec int) error {
	return c.h.control("setsockopt", func(fd int) unix.Errno { return rawSetLinger(fd, sec) })
}

// newHostTCP wraps h, a TCP socket, which gets SO_KEEPALIVE if it is still
// open keepAliveAfter from now (hostPoller.sweepKeepAlive: no timer per
// connection).
func newHostTCP(h *hostFD) *hostTCP {
	h.keepAliveAt.Store(time.Now().Add(keepAliveAfter).UnixNano())
	return &hostTCP{h: h}
}

// dialHost connects a TCP socket to dst. It returns when the connection is
// established, refused, or dialTimeout has passed, or at once with an error
// when ctx is done; closing the returned socket's registration (see track)
// is the caller's. The socket gets TCP_NODELAY and SO_KEEPALIVE later (see
// hostTCP).
func dialHost(ctx context.Context, p *hostPoller, dst netip.AddrPort, track func(*hostTCP) func()) (*hostTCP, error) {
	h, err := hostSocket(p, dst, unix.SOCK_STREAM)
	if err != nil {
		return nil, err
	}
	c := newHostTCP(h)
	errno := rawConnect(h.fd, dst)
	if errno != 0 && errno != unix.EINPROGRESS && errno != unix.EINTR {
		c.Close()
		return nil, os.NewSyscallError("connect", errno)
	}
	if errno == 0 {
		return c, nil
	}
	// On a local or veth path the handshake has often completed by the
	// time connect returns: then no timer, no wait.
	connected, err := c.connected()
	if connected || err != nil {
		if err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	untrack := track(c)
	defer untrack()
	timeout := time.NewTimer(dialTimeout)
	defer timeout.Stop()
	for {
		// Writable means connected or failed (connect(2), EINPROGRESS).
		select {
		case <-h.writable:
		case <-h.closed: // by the Stack's Close (track)
			c.Close()
			return nil, net.ErrClosed
		case <-ctx.Done():
			c.Close()
			return nil, ctx.Err()
		case <-timeout.C:
			c.Close()
			return nil, errDialTimeout
		}
		if connected, err = c.connected(); connected || err != nil {
			break
		}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// connected reports whether the connect has completed, or its error.
func (c *hostTCP) connected() (bool, error) {
	if !c.h.acquire() {
		return false, net.ErrClosed
	}
	defer c.h.release()
	return connState(c.h.fd)
}

// connState tells a connected socket (getpeername works), a failed connect
// (SO_ERROR) and one still in progress apart; getpeername first, as a
// connected socket is the common case.
func connState(fd int) (bool, error) {
	if rawGetpeername(fd) == 0 {
		return true, nil
	}
	v, errno := rawGetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	switch {
	case errno != 0:
		return false, os.NewSyscallError("getsockopt", errno)
	case v == 0, unix.Errno(v) == unix.EINPROGRESS, unix.Errno(v) == unix.EALREADY, unix.Errno(v) == unix.EINTR:
		return false, nil
	default:
		return false, os.NewSyscallError("connect", unix.Errno(v))
	}
}

// dialHostUDP returns a UDP socket connected to dst, in p.
func dialHostUDP(p *hostPoller, dst netip.AddrPort) (*hostFD, error) {
	h, err := hostSocket(p, dst, unix.SOCK_DGRAM)
	if err != nil {
		return nil, err
	}
	// A UDP connect only sets the peer (and picks the route and source).
	if errno := rawConnect(h.fd, dst); errno != 0 {
		h.Close()
		return nil, os.NewSyscallError("connect", errno)
	}
	return h, nil
}

// hostSocket opens a socket of typ (SOCK_STREAM or SOCK_DGRAM) in dst's
// family, in p.
func hostSocket(p *hostPoller, dst netip.AddrPort, typ int) (*hostFD, error) {
	family := unix.AF_INET6
	if dst.Addr().Is4() {
		family = unix.AF_INET
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	return p.add(fd, typ == unix.SOCK_DGRAM)
}

// errDialTimeout is a host dial that took longer than dialTimeout.
var errDialTimeout = errors.New("connect: timed out")
