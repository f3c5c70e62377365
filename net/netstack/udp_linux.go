package netstack

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// maxUDPFlows bounds the UDP flows open at once, each a host socket: a
// sandbox spraying datagrams at many ports must not exhaust the parent's file
// descriptors. Further flows get ICMP port unreachable.
const maxUDPFlows = 4096

// forwardUDP handles the first datagram of a new flow from the sandbox. It
// runs on the packet path: it decides, creates the flow's netstack endpoint
// (which takes this datagram and the flow's later ones) and leaves the
// relaying to a goroutine. Returning false makes the stack answer with ICMP
// port unreachable.
func (s *Stack) forwardUDP(req *udp.ForwarderRequest) bool {
	id := req.ID()
	dst := netip.AddrPortFrom(netipAddr(id.LocalAddress), id.LocalPort)
	kind, hostDst, err := s.cfg.route("udp", dst)
	if err != nil {
		s.refused.Add(1)
		s.cfg.logf("netstack: udp to %v refused: %v", dst, err)
		return false
	}
	var host *hostFD
	if kind == toHost {
		if s.udpOpen.Load() >= maxUDPFlows {
			s.refused.Add(1)
			s.cfg.logf("netstack: udp to %v: %d flows open already", dst, maxUDPFlows)
			return false
		}
		host, err = dialHostUDP(s.hosts, hostDst)
		if err != nil {
			s.refused.Add(1)
			s.cfg.logf("netstack: udp to %v: %v", dst, err)
			return false
		}
	}
	var wq waiter.Queue
	ep, e := req.CreateEndpoint(&wq)
	if e != nil {
		s.cfg.logf("netstack: udp to %v: create endpoint: %v", dst, e)
		if host != nil {
			host.Close()
		}
		return true
	}
	sb := gonet.NewUDPConn(&wq, ep)
	if kind == toDNS {
		s.goTracked(sb, func() { s.serveDNSUDP(sb) })
		return true
	}
	s.udpFlows.Add(1)
	s.udpOpen.Add(1)
	f := &udpFlow{sb: sb, host: host}
	if s.goTracked(f, func() { s.relayUDP(f) }) != nil {
		s.udpOpen.Add(-1)
	}
	return true
}

// udpFlow is one sandbox UDP 5-tuple and the connected host socket behind it.
type udpFlow struct {
	sb       *gonet.UDPConn
	host     *hostFD
	lastSeen atomic.Int64 // unix nanoseconds of the last datagram either way
	once     sync.Once
}

func (f *udpFlow) Close() error {
	f.once.Do(func() {
		f.sb.Close()
		f.host.Close()
	})
	return nil
}

func (f *udpFlow) touch() { f.lastSeen.Store(time.Now().UnixNano()) }

// idle reports whether the flow saw nothing for udpIdle.
func (f *udpFlow) idle() bool {
	return time.Since(time.Unix(0, f.lastSeen.Load())) >= udpIdle
}

// relayUDP copies datagrams both ways until the flow is idle for udpIdle or
// either side fails.
func (s *Stack) relayUDP(f *udpFlow) {
	defer s.udpOpen.Add(-1)
	f.touch()
	done := make(chan struct{})
	go func() {
		defer close(done)
		relayDatagrams(f, f.host, f.sb, &s.bytesDown)
	}()
	relayDatagrams(f, f.sb, f.host, &s.bytesUp)
	<-done
}

// datagramConn is the part of net.Conn a relay needs.
type datagramConn interface {
	Read([]byte) (int, error)
	Write([]byte) (int, error)
	SetReadDeadline(time.Time) error
}

// relayDatagrams copies from src to dst one datagram at a time, then closes
// the flow, which stops the other direction too.
func relayDatagrams(f *udpFlow, src, dst datagramConn, counter *atomic.Uint64) {
	defer f.Close()
	buf := make([]byte, 65536)
	for {
		src.SetReadDeadline(time.Now().Add(udpIdle))
		n, err := src.Read(buf)
		if err != nil {
			if isTimeout(err) && !f.idle() {
				continue
			}
			if errors.Is(err, syscall.ECONNREFUSED) {
				// An ICMP error from the host's destination; the
				// flow stays open as it would for the sandbox.
				continue
			}
			return
		}
		f.touch()
		if _, err := dst.Write(buf[:n]); err == nil {
			counter.Add(uint64(n))
		}
	}
}

// isTimeout reports a read deadline that expired (host or netstack socket).
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// UDPConn is a connected UDP socket on the host, as DialUDP returns it.
type UDPConn interface {
	Read([]byte) (int, error)
	Write([]byte) (int, error)
	SetReadDeadline(time.Time) error
	Close() error
}

// DialUDP connects a UDP socket on the host to dst, in the stack's
// hostPoller (see there why): for the resolver's upstream queries
// (dns.Resolver.SetDialUDP), which go out from the helper itself and so do
// not pass the stack's forwarding. One reader only (its read deadline);
// the caller closes it.
func (s *Stack) DialUDP(dst netip.AddrPort) (UDPConn, error) {
	h, err := dialHostUDP(s.hosts, dst)
	if err != nil {
		return nil, err
	}
	return h, nil
}
