package netstack

import (
	"context"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sockoptInt reads an int socket option of c's socket.
func sockoptInt(t *testing.T, c *hostTCP, level, opt int) int {
	t.Helper()
	var v int
	err := c.h.control("getsockopt", func(fd int) unix.Errno {
		var errno unix.Errno
		v, errno = rawGetsockoptInt(fd, level, opt)
		return errno
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestHostTCPLazyOptions: TCP_NODELAY comes with the second write or a
// first one above nagleFree, SO_KEEPALIVE when its timer fires.
func TestHostTCPLazyOptions(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(io.Discard, c) }()
		}
	}()
	dst := netip.MustParseAddrPort(ln.Addr().String())
	p := testPoller(t)
	noTrack := func(*hostTCP) func() { return func() {} }
	dial := func() *hostTCP {
		c, err := dialHost(context.Background(), p, dst, noTrack)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	noDelay := func(c *hostTCP) bool { return sockoptInt(t, c, unix.IPPROTO_TCP, unix.TCP_NODELAY) != 0 }

	c := dial()
	for i, want := range []bool{false, true, true} {
		if _, err := c.Write([]byte("small")); err != nil {
			t.Fatal(err)
		}
		if got := noDelay(c); got != want {
			t.Errorf("after small write %d: TCP_NODELAY %v, want %v", i+1, got, want)
		}
	}
	large := dial()
	if _, err := large.Write(make([]byte, nagleFree+1)); err != nil {
		t.Fatal(err)
	}
	if !noDelay(large) {
		t.Error("a first write above nagleFree went out without TCP_NODELAY")
	}

	if sockoptInt(t, c, unix.SOL_SOCKET, unix.SO_KEEPALIVE) != 0 {
		t.Error("SO_KEEPALIVE set at the dial")
	}
	p.sweepKeepAlive(time.Now().Add(keepAliveAfter / 2))
	if sockoptInt(t, c, unix.SOL_SOCKET, unix.SO_KEEPALIVE) != 0 {
		t.Error("SO_KEEPALIVE set by a sweep before keepAliveAfter")
	}
	p.sweepKeepAlive(time.Now().Add(keepAliveAfter))
	if sockoptInt(t, c, unix.SOL_SOCKET, unix.SO_KEEPALIVE) == 0 {
		t.Error("SO_KEEPALIVE not set by a sweep after keepAliveAfter")
	}
}
