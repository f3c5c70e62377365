package netstack

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testPoller is a hostPoller that the test's cleanup closes, after checking
// that every socket added to it was closed (cleanups registered later run
// first).
func testPoller(t *testing.T) *hostPoller {
	t.Helper()
	p, err := newHostPoller()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n := p.open(); n != 0 {
			t.Errorf("%d host sockets still open at the end", n)
		}
		if err := p.Close(); err != nil {
			t.Errorf("close the poller: %v", err)
		}
	})
	return p
}

// socketPair is a connected pair of unix sockets of typ (SOCK_STREAM or
// SOCK_DGRAM): the first in p, the second a blocking descriptor the test
// drives.
func socketPair(t *testing.T, p *hostPoller, typ int) (*hostFD, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.add(fds[0], typ == unix.SOCK_DGRAM)
	if err != nil {
		t.Fatal(err)
	}
	peer := fds[1]
	unix.SetNonblock(peer, false)
	t.Cleanup(func() { unix.Close(peer) })
	return h, peer
}

// TestHostFDRead: a Read waits for data, and EOF follows the peer's close.
func TestHostFDRead(t *testing.T) {
	p := testPoller(t)
	h, peer := socketPair(t, p, unix.SOCK_STREAM)
	defer h.Close()
	go func() {
		time.Sleep(20 * time.Millisecond) // the Read is waiting by then
		unix.Write(peer, []byte("hello"))
		time.Sleep(20 * time.Millisecond)
		unix.Shutdown(peer, unix.SHUT_WR)
	}()
	buf := make([]byte, 64)
	n, err := h.Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v; want hello", buf[:n], err)
	}
	if n, err := h.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read after the peer's shutdown = %d, %v; want EOF", n, err)
	}
}

// TestHostFDWrite: a Write larger than the socket's buffers waits for room
// until all of it is written, in order.
func TestHostFDWrite(t *testing.T) {
	p := testPoller(t)
	h, peer := socketPair(t, p, unix.SOCK_STREAM)
	want := make([]byte, 8<<20)
	for i := range want {
		want[i] = byte(i * 7)
	}
	got := make(chan []byte, 1)
	go func() {
		var b bytes.Buffer
		buf := make([]byte, 4096)
		for {
			n, err := unix.Read(peer, buf)
			if n <= 0 || err != nil {
				got <- b.Bytes()
				return
			}
			b.Write(buf[:n])
			if b.Len() < 1<<20 {
				time.Sleep(time.Millisecond) // slow at first: the writer must wait
			}
		}
	}()
	if n, err := h.Write(want); n != len(want) || err != nil {
		t.Fatalf("Write = %d, %v; want %d", n, err, len(want))
	}
	h.Close()
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("the peer read %d bytes, not the %d written", len(b), len(want))
	}
}

// TestHostFDCloseWakes: Close wakes a blocked Read and a blocked Write, which
// return net.ErrClosed, and the socket is closed (the peer sees EOF).
func TestHostFDCloseWakes(t *testing.T) {
	p := testPoller(t)
	h, peer := socketPair(t, p, unix.SOCK_STREAM)
	errs := make(chan error, 2)
	go func() {
		_, err := h.Read(make([]byte, 10))
		errs <- err
	}()
	go func() {
		_, err := h.Write(make([]byte, 64<<20)) // more than fits: it blocks
		errs <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("a blocked call returned %v, want net.ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not wake a blocked call")
		}
	}
	if err := h.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close = %v, want net.ErrClosed", err)
	}
	if _, err := h.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close = %v, want net.ErrClosed", err)
	}
	drainToEOF(t, peer)
}

// drainToEOF reads the peer until EOF: the other end was closed.
func drainToEOF(t *testing.T, peer int) {
	t.Helper()
	unix.SetsockoptTimeval(peer, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 5})
	buf := make([]byte, 1<<16)
	for {
		n, err := unix.Read(peer, buf)
		if err != nil {
			t.Fatalf("the peer's read: %v (the socket was not closed)", err)
		}
		if n == 0 {
			return
		}
	}
}

// TestHostFDCloseWaitsForCalls: the descriptor stays open while a call
// holds it, so its number cannot be reused under that call, and is closed
// when the call returns.
func TestHostFDCloseWaitsForCalls(t *testing.T) {
	p := testPoller(t)
	h, peer := socketPair(t, p, unix.SOCK_STREAM)
	if !h.acquire() {
		t.Fatal("acquire failed on an open socket")
	}
	h.Close()
	if _, err := unix.FcntlInt(uintptr(h.fd), unix.F_GETFD, 0); err != nil {
		t.Fatalf("the descriptor was closed under a call: %v", err)
	}
	if n := p.open(); n != 1 {
		t.Errorf("%d sockets in the poller during the call, want 1", n)
	}
	h.release()
	if n := p.open(); n != 0 {
		t.Errorf("%d sockets in the poller after the call, want 0", n)
	}
	drainToEOF(t, peer)
}

// TestHostPollerMany: readiness reaches the right socket among many (more
// than one epoll_pwait batch), and closed sockets' tokens are not reused.
func TestHostPollerMany(t *testing.T) {
	p := testPoller(t)
	const n = 300
	hs := make([]*hostFD, n)
	peers := make([]int, n)
	for i := range hs {
		hs[i], peers[i] = socketPair(t, p, unix.SOCK_STREAM)
	}
	seen := map[uint64]bool{}
	for _, h := range hs {
		if seen[h.token] {
			t.Fatalf("token %d given twice", h.token)
		}
		seen[h.token] = true
	}
	for i := range peers {
		unix.Write(peers[i], []byte{byte(i)})
	}
	buf := make([]byte, 2)
	for i, h := range hs {
		if k, err := h.Read(buf); k != 1 || err != nil || buf[0] != byte(i) {
			t.Fatalf("socket %d: Read = %d %v (%d)", i, k, err, buf[0])
		}
	}
	for _, h := range hs {
		h.Close()
	}
	h, _ := socketPair(t, p, unix.SOCK_STREAM)
	defer h.Close()
	if seen[h.token] {
		t.Errorf("token %d of a closed socket given again", h.token)
	}
}

// TestHostFDDatagram: a datagram socket reads one datagram per Read, an
// empty one as 0 bytes (not EOF), and a read deadline ends a wait with a
// timeout; a later deadline lets the next datagram through.
func TestHostFDDatagram(t *testing.T) {
	p := testPoller(t)
	h, peer := socketPair(t, p, unix.SOCK_DGRAM)
	defer h.Close()
	unix.Write(peer, []byte("one"))
	unix.Write(peer, nil)
	unix.Write(peer, []byte("three"))
	buf := make([]byte, 16)
	for _, want := range []string{"one", "", "three"} {
		n, err := h.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("Read = %q, %v; want %q", buf[:n], err, want)
		}
	}
	h.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	start := time.Now()
	if _, err := h.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) || !isTimeout(err) {
		t.Fatalf("Read past the deadline = %v, want a timeout", err)
	}
	if d := time.Since(start); d < 25*time.Millisecond {
		t.Errorf("the deadline ended the wait after %v, before it was due", d)
	}
	h.SetReadDeadline(time.Now().Add(5 * time.Second))
	go func() {
		time.Sleep(20 * time.Millisecond)
		unix.Write(peer, []byte("late"))
	}()
	if n, err := h.Read(buf); err != nil || string(buf[:n]) != "late" {
		t.Fatalf("Read = %q, %v; want late", buf[:n], err)
	}
	if n, err := h.Write([]byte("back")); n != 4 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if n, _ := unix.Read(peer, buf); string(buf[:n]) != "back" {
		t.Errorf("the peer read %q, want back", buf[:n])
	}
}

// TestHostFDReadFromWriteTo: an unconnected UDP socket in the poller reads
// each datagram with its sender's address and answers to it, over IPv4 and
// IPv6 loopback.
func TestHostFDReadFromWriteTo(t *testing.T) {
	p := testPoller(t)
	for _, c := range []struct {
		network string
		addr    string
		family  int
	}{{"udp4", "127.0.0.1:0", unix.AF_INET}, {"udp6", "[::1]:0", unix.AF_INET6}} {
		t.Run(c.network, func(t *testing.T) {
			fd, err := unix.Socket(c.family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			var sa unix.Sockaddr = &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
			if c.family == unix.AF_INET6 {
				sa = &unix.SockaddrInet6{Addr: netip.IPv6Loopback().As16()}
			}
			if err := unix.Bind(fd, sa); err != nil {
				unix.Close(fd)
				t.Fatal(err)
			}
			bound, _ := unix.Getsockname(fd)
			h, err := p.add(fd, true)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			var local netip.AddrPort
			switch a := bound.(type) {
			case *unix.SockaddrInet4:
				local = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
			case *unix.SockaddrInet6:
				local = netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
			}
			peer, err := net.DialUDP(c.network, nil, net.UDPAddrFromAddrPort(local))
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			go func() {
				time.Sleep(20 * time.Millisecond) // readFrom waits first
				peer.Write([]byte("ping"))
			}()
			buf := make([]byte, 16)
			n, from, err := h.readFrom(buf)
			if err != nil || string(buf[:n]) != "ping" {
				t.Fatalf("readFrom = %q, %v", buf[:n], err)
			}
			if want := netip.MustParseAddrPort(peer.LocalAddr().String()); from != want {
				t.Errorf("readFrom's sender %v, want %v", from, want)
			}
			if err := h.writeTo([]byte("pong"), from, c.family == unix.AF_INET6); err != nil {
				t.Fatal(err)
			}
			peer.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := peer.Read(buf); err != nil || string(buf[:n]) != "pong" {
				t.Errorf("the peer read %q, %v; want pong", buf[:n], err)
			}
		})
	}
}
