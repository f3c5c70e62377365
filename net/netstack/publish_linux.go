package netstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// publishDialTimeout bounds the connection into the sandbox for one
// published connection.
const publishDialTimeout = 10 * time.Second

// Publish forwards hostAddr on the host (127.0.0.1:8080, 0.0.0.0:8080, ...)
// to SandboxIP:sandboxPort in the sandbox; proto is "tcp" or "udp". The
// sandbox sees the connections come from GatewayIP. The listener is bound
// before Publish returns and closed by Close.
func (s *Stack) Publish(proto string, hostAddr netip.AddrPort, sandboxPort uint16) error {
	if sandboxPort == 0 {
		return fmt.Errorf("publish %s %v: sandbox port 0", proto, hostAddr)
	}
	network := proto + "4"
	if hostAddr.Addr().Is6() && !hostAddr.Addr().Is4In6() {
		network = proto + "6"
	}
	switch proto {
	case "tcp":
		ln, err := net.ListenTCP(network, net.TCPAddrFromAddrPort(hostAddr))
		if err != nil {
			return publishError(proto, hostAddr, err)
		}
		addr := ln.Addr().String()
		l, err := s.pollerFD(ln, false)
		if err != nil {
			return fmt.Errorf("publish tcp %v: %w", addr, err)
		}
		return s.goTracked(l, func() { s.acceptPublished(l, addr, sandboxPort) })
	case "udp":
		pc, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(hostAddr))
		if err != nil {
			return publishError(proto, hostAddr, err)
		}
		addr := pc.LocalAddr().String()
		h, err := s.pollerFD(pc, true)
		if err != nil {
			return fmt.Errorf("publish udp %v: %w", addr, err)
		}
		p := &udpPublisher{s: s, pc: h, addr: addr, ipv6: network == "udp6", port: sandboxPort, flows: make(map[netip.AddrPort]*publishedFlow)}
		return s.goTracked(p, p.run)
	default:
		return fmt.Errorf("publish %v: unknown protocol %q (want tcp or udp)", hostAddr, proto)
	}
}

// publishError explains EACCES on a low port: binding below
// net.ipv4.ip_unprivileged_port_start needs CAP_NET_BIND_SERVICE on the
// host, which a rootless sandbox does not have. err (a *net.OpError) already
// names the address.
func publishError(proto string, hostAddr netip.AddrPort, err error) error {
	port := hostAddr.Port()
	if errors.Is(err, syscall.EACCES) && port < 1024 {
		start := "1024"
		if b, rerr := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); rerr == nil {
			start = strings.TrimSpace(string(b))
		}
		return fmt.Errorf("%w: %d/%s is a privileged port (below net.ipv4.ip_unprivileged_port_start=%s); publish a host port of %s or more, or lower that sysctl to %d",
			err, port, proto, start, start, port)
	}
	return err
}

// acceptPublished serves one published TCP port until l, the listening
// socket, is closed. It and the connections are in the stack's hostPoller
// (see there why).
func (s *Stack) acceptPublished(l *hostFD, addr string, port uint16) {
	defer l.Close()
	for {
		fd, err := l.accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.cfg.logf("netstack: publish %v: %v", addr, err)
			time.Sleep(100 * time.Millisecond) // EMFILE and friends
			continue
		}
		h, err := s.hosts.add(fd, false)
		if err != nil {
			s.cfg.logf("netstack: publish %v: %v", addr, err)
			continue
		}
		c := newHostTCP(h)
		err = s.goTracked(nil, func() {
			sb, err := s.dialSandbox(port)
			if err != nil {
				s.cfg.logf("netstack: publish %v: %v", addr, err)
				c.SetLinger(0)
				c.Close()
				return
			}
			s.published.Add(1)
			s.splice(sb, c)
		})
		if err != nil { // the stack is closing
			c.Close()
		}
	}
}

// pollerFD moves the socket of c, a listener or an unconnected UDP socket
// the stack has bound, into its hostPoller as a duplicate, and closes c: a
// listener's RawConn cannot wait, and Go's own calls would enter the
// runtime's syscall path (see hostPoller).
func (s *Stack) pollerFD(c interface {
	syscall.Conn
	Close() error
}, datagram bool) (*hostFD, error) {
	defer c.Close() // the duplicate stays bound
	fd, err := dupFD(c)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	return s.hosts.add(fd, datagram)
}

// dialSandbox opens a netstack TCP connection from GatewayIP to
// SandboxIP:port.
func (s *Stack) dialSandbox(port uint16) (*sandboxConn, error) {
	var wq waiter.Queue
	ep, e := s.ns.NewEndpoint(tcp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	if e != nil {
		return nil, fmt.Errorf("new endpoint: %v", e)
	}
	entry, ready := waiter.NewChannelEntry(waiter.WritableEvents)
	wq.EventRegister(&entry)
	defer wq.EventUnregister(&entry)
	if e := ep.Bind(tcpip.FullAddress{NIC: nicID, Addr: tcpipAddr(s.cfg.GatewayIP)}); e != nil {
		ep.Close()
		return nil, fmt.Errorf("bind %v: %v", s.cfg.GatewayIP, e)
	}
	dst := tcpip.FullAddress{NIC: nicID, Addr: tcpipAddr(s.cfg.SandboxIP), Port: port}
	e = ep.Connect(dst)
	if _, started := e.(*tcpip.ErrConnectStarted); started {
		ctx, cancel := context.WithTimeout(s.ctx, publishDialTimeout)
		defer cancel()
		select {
		case <-ready:
			e = ep.LastError()
		case <-ctx.Done():
			ep.Abort()
			return nil, fmt.Errorf("connect %v:%d: %w", s.cfg.SandboxIP, port, ctx.Err())
		}
	}
	if e != nil {
		ep.Close()
		return nil, fmt.Errorf("connect %v:%d: %v", s.cfg.SandboxIP, port, e)
	}
	return &sandboxConn{TCPConn: gonet.NewTCPConn(&wq, ep), ep: ep}, nil
}

// udpPublisher serves one published UDP port: each host peer address gets
// its own netstack flow to SandboxIP:port, closed after udpIdle.
type udpPublisher struct {
	s    *Stack
	pc   *hostFD // the published socket, in the stack's hostPoller
	addr string  // its address, for messages
	ipv6 bool
	port uint16

	mu    sync.Mutex
	flows map[netip.AddrPort]*publishedFlow
}

// publishedFlow is one host peer's flow into the sandbox.
type publishedFlow struct {
	sb       *gonet.UDPConn
	lastSeen atomic.Int64 // unix nanoseconds of the last datagram either way
}

func (f *publishedFlow) touch() { f.lastSeen.Store(time.Now().UnixNano()) }

func (f *publishedFlow) idle() bool {
	return time.Since(time.Unix(0, f.lastSeen.Load())) >= udpIdle
}

func (p *udpPublisher) Close() error { return p.pc.Close() }

func (p *udpPublisher) run() {
	defer p.closeFlows()
	buf := make([]byte, 65536)
	for {
		n, peer, err := p.pc.readFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		f, err := p.flow(peer)
		if err != nil {
			p.s.cfg.logf("netstack: publish udp %v: %v", p.addr, err)
			continue
		}
		f.touch()
		if _, err := f.sb.Write(buf[:n]); err == nil {
			p.s.bytesDown.Add(uint64(n))
		}
	}
}

// flow returns peer's netstack flow, starting it if needed.
func (p *udpPublisher) flow(peer netip.AddrPort) (*publishedFlow, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.flows[peer]; ok {
		return f, nil
	}
	laddr := tcpip.FullAddress{NIC: nicID, Addr: tcpipAddr(p.s.cfg.GatewayIP)}
	raddr := tcpip.FullAddress{NIC: nicID, Addr: tcpipAddr(p.s.cfg.SandboxIP), Port: p.port}
	sb, err := gonet.DialUDP(p.s.ns, &laddr, &raddr, ipv4.ProtocolNumber)
	if err != nil {
		return nil, err
	}
	f := &publishedFlow{sb: sb}
	f.touch()
	p.flows[peer] = f
	p.s.published.Add(1)
	if err := p.s.goTracked(nil, func() { p.replies(peer, f) }); err != nil {
		delete(p.flows, peer)
		sb.Close()
		return nil, err
	}
	return f, nil
}

// replies sends the sandbox's datagrams on peer's flow back to peer.
func (p *udpPublisher) replies(peer netip.AddrPort, f *publishedFlow) {
	defer func() {
		p.mu.Lock()
		delete(p.flows, peer)
		p.mu.Unlock()
		f.sb.Close()
	}()
	buf := make([]byte, 65536)
	for {
		f.sb.SetReadDeadline(time.Now().Add(udpIdle))
		n, err := f.sb.Read(buf)
		if err != nil {
			if isTimeout(err) && !f.idle() {
				continue
			}
			return
		}
		f.touch()
		if err := p.pc.writeTo(buf[:n], peer, p.ipv6); err == nil {
			p.s.bytesUp.Add(uint64(n))
		}
	}
}

func (p *udpPublisher) closeFlows() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.flows {
		f.sb.Close()
	}
}
