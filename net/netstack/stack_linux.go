package netstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/qdisc/fifo"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// nicID is the stack's only NIC, the TAP device.
const nicID tcpip.NICID = 1

// gatewayMAC is the stack's Ethernet address on the TAP link (slirp's
// 52:55:0a:00:02:02, locally administered).
const gatewayMAC = tcpip.LinkAddress("\x52\x55\x0a\x00\x02\x02")

// Tuning, measured with BenchmarkForward on a 2-core VM at MTU 65520.
const (
	// The stack's TCP send and receive buffers per connection start at
	// tcpBufferDefault; receive buffers grow by moderation (auto-tuning)
	// up to tcpBufferMax. A 4 MiB default send buffer measured no better.
	tcpBufferDefault = 1 << 20
	tcpBufferMax     = 8 << 20
	// tcpMaxInFlight bounds connections between SYN and dial result.
	tcpMaxInFlight = 1024
	// timeWait is zero: the only peer is the sandbox's kernel over a link
	// that neither delays, reorders nor loses what the stack sends, so
	// TIME-WAIT protects nothing; and the stack drops a SYN that reuses a
	// 4-tuple still in TIME-WAIT when no listener is there to take it (as
	// with the forwarder), which cost the sandbox a 1 s SYN retransmit
	// every few thousand connections when the host closed first.
	timeWait = 0
	// dialTimeout bounds a host dial; the sandbox then gets a RST.
	dialTimeout = 30 * time.Second
	// udpIdle closes UDP flows with no traffic either way.
	udpIdle = 60 * time.Second
	// spliceSmall and spliceLarge are the copy buffers per direction of a
	// TCP connection: small while idle or interactive, large for bulk. A
	// 1 MiB large buffer measured no better (scripts/bench-net).
	spliceSmall = 16 << 10
	spliceLarge = 256 << 10
	// tapQueueLen bounds the frames waiting for the TAP writer (see
	// start); when it is full the stack drops, as a NIC would, and TCP
	// backs off. 1000 frames of up to 64 KiB: a few full windows.
	tapQueueLen = 1000
)

// Stack is a running user-mode network attached to one sandbox's TAP device.
// Its methods are safe for concurrent use.
type Stack struct {
	cfg    Config
	ns     *stack.Stack
	link   *tapLink
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	closed  bool
	wg      sync.WaitGroup         // goroutines started by goTracked
	workers *workers               // run the TCP connections
	hosts   *hostPoller            // the host sockets the stack dials
	closers map[io.Closer]struct{} // host sockets, listeners, flows

	tcpConns, udpFlows, refused, published atomic.Uint64
	bytesUp, bytesDown                     atomic.Uint64
	udpOpen                                atomic.Int64  // flows relaying now
	dnsSlots                               chan struct{} // DNS queries in flight

	smallBufs, largeBufs sync.Pool // *[]byte of spliceSmall, spliceLarge
}

// New starts the stack on the TAP fd, taking ownership of it (tap is closed
// here and the fd when the Stack is closed). It returns when the stack is
// ready to answer the sandbox.
//
// The Stack owns goroutines and host sockets until Close; the caller must
// Close it before exiting (or when the sandbox is gone).
func New(tap *os.File, cfg Config) (*Stack, error) {
	fd, err := takeFD(tap)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netstack: %w", err)
	}
	link, err := newTAPLink(fd, cfg.MTU, gatewayMAC, cfg.logf)
	if err != nil {
		return nil, fmt.Errorf("netstack: %w", err)
	}
	s := &Stack{
		cfg:      cfg,
		link:     link,
		closers:  make(map[io.Closer]struct{}),
		workers:  newWorkers(maxIdleWorkers),
		dnsSlots: make(chan struct{}, maxDNSInFlight),
	}
	s.smallBufs.New = func() any { b := make([]byte, spliceSmall); return &b }
	s.largeBufs.New = func() any { b := make([]byte, spliceLarge); return &b }
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if s.hosts, err = newHostPoller(); err != nil {
		s.cancel()
		link.Close()
		return nil, fmt.Errorf("netstack: %w", err)
	}
	if err := s.start(); err != nil {
		s.hosts.Close()
		s.cancel()
		if s.ns != nil {
			s.ns.Destroy()
		}
		link.Attach(nil)
		link.Close()
		return nil, fmt.Errorf("netstack: %w", err)
	}
	return s, nil
}

// takeFD moves tap's descriptor out of the os.File into a plain fd for the
// link endpoint, which makes it non-blocking and registers it with the
// runtime poller itself.
func takeFD(tap *os.File) (int, error) {
	fd, err := dupFD(tap)
	tap.Close()
	if err != nil {
		return -1, fmt.Errorf("netstack: tap fd: %w", err)
	}
	return fd, nil
}

// dupFD duplicates c's descriptor (close-on-exec), for the stack to own.
func dupFD(c syscall.Conn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd, dupErr := -1, error(nil)
	if err := rc.Control(func(raw uintptr) { fd, dupErr = unix.FcntlInt(raw, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	if dupErr != nil {
		return -1, os.NewSyscallError("fcntl", dupErr)
	}
	return fd, nil
}

// runDue starts f in a worker, for the stack's clock; false once the stack
// is closing. Close waits for it.
func (s *Stack) runDue(f func()) bool {
	if !s.enter() {
		return false
	}
	s.workers.Go(func() {
		defer s.wg.Done()
		f()
	})
	return true
}

func (s *Stack) start() error {
	link := s.link
	opts := stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
		Clock:              &clock{Clock: tcpip.NewStdClock(), run: s.runDue},
	}
	if s.cfg.SandboxIP6.IsValid() {
		// The zero options: no duplicate address detection (the
		// addresses would stay tentative, unanswered, for a second),
		// no router solicitations or advertisements to act on, no
		// MLD reports, no link-local address. Neighbour discovery
		// still answers for the gateway and DNS addresses.
		opts.NetworkProtocols = append(opts.NetworkProtocols, ipv6.NewProtocolWithOptions(ipv6.Options{}))
		opts.TransportProtocols = append(opts.TransportProtocols, icmp.NewProtocol6)
	}
	s.ns = stack.New(opts)
	if err := s.setTCPOptions(); err != nil {
		return err
	}
	tcpFwd := tcp.NewForwarder(s.ns, 0, tcpMaxInFlight, s.forwardTCP)
	s.ns.SetTransportProtocolHandler(tcp.ProtocolNumber, tcpFwd.HandlePacket)
	udpFwd := udp.NewForwarder(s.ns, s.forwardUDP)
	s.ns.SetTransportProtocolHandler(udp.ProtocolNumber, udpFwd.HandlePacket)
	if s.cfg.SandboxIP6.IsValid() {
		// gVisor's IPv6 answers an echo request to any address the NIC
		// takes, in promiscuous mode every address (its IPv4 does not
		// for such "temporary" addresses). The sandbox must get no
		// replies from hosts that never saw its request: this handler
		// takes the requests to other addresses, which skips the
		// built-in reply.
		s.ns.SetTransportProtocolHandler(icmp.ProtocolNumber6, func(id stack.TransportEndpointID, _ *stack.PacketBuffer) bool {
			ip := netipAddr(id.LocalAddress)
			return ip != s.cfg.GatewayIP6 && ip != s.cfg.DNSIP6
		})
	}

	// The NIC starts reading the TAP at once; it stays disabled (dropping
	// what it reads) until it is configured.
	//
	// Frames to the TAP go through a queue and one writer goroutine (a
	// FIFO queueing discipline), not written by whichever goroutine sends
	// them, for two reasons measured with scripts/bench-net. A write to
	// the TAP runs the sandbox kernel's receive path before it returns,
	// and gVisor sends a SYN-ACK holding the new endpoint's lock: the
	// sandbox's answer arrived meanwhile on the reader, and gVisor's TCP
	// processor goroutine, finding the endpoint locked, re-queued it and
	// retried at once, spinning on one of two CPUs for a third of the
	// stack's CPU time in the connect+request+close test (only SYN-ACKs
	// from another goroutine cured that just as well). And downloads
	// gain from the pipeline: 7.0 Gbit/s with writes in the sender's
	// goroutine, 8.9 with the queue.
	qdisc := fifo.New(link, 1, tapQueueLen)
	if e := s.ns.CreateNICWithOptions(nicID, link, stack.NICOptions{Disabled: true, QDisc: qdisc}); e != nil {
		qdisc.Close()
		return fmt.Errorf("create nic: %v", e)
	}
	// Promiscuous: accept packets for any destination, which is every
	// address on the internet. Spoofing: answer from those addresses.
	if e := s.ns.SetPromiscuousMode(nicID, true); e != nil {
		return fmt.Errorf("promiscuous mode: %v", e)
	}
	if e := s.ns.SetSpoofing(nicID, true); e != nil {
		return fmt.Errorf("spoofing: %v", e)
	}
	// Assigned addresses answer ARP and neighbour solicitations, so the
	// sandbox can reach the gateway and the DNS server on its link.
	addrs := []netip.Prefix{
		netip.PrefixFrom(s.cfg.GatewayIP, s.cfg.PrefixLen),
		netip.PrefixFrom(s.cfg.DNSIP, s.cfg.PrefixLen),
	}
	routes := []tcpip.Route{{Destination: header.IPv4EmptySubnet, NIC: nicID}}
	if s.cfg.SandboxIP6.IsValid() {
		addrs = append(addrs,
			netip.PrefixFrom(s.cfg.GatewayIP6, s.cfg.PrefixLen6),
			netip.PrefixFrom(s.cfg.DNSIP6, s.cfg.PrefixLen6))
		routes = append(routes, tcpip.Route{Destination: header.IPv6EmptySubnet, NIC: nicID})
	}
	for _, p := range addrs {
		proto := ipv4.ProtocolNumber
		if p.Addr().Is6() {
			proto = ipv6.ProtocolNumber
		}
		pa := tcpip.ProtocolAddress{
			Protocol:          proto,
			AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpipAddr(p.Addr()), PrefixLen: p.Bits()},
		}
		if e := s.ns.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); e != nil {
			return fmt.Errorf("add address %v: %v", p, e)
		}
	}
	s.ns.SetRouteTable(routes)
	if e := s.ns.EnableNIC(nicID); e != nil {
		return fmt.Errorf("enable nic: %v", e)
	}
	return nil
}

func (s *Stack) setTCPOptions() error {
	opts := []tcpip.SettableTransportProtocolOption{
		new(tcpip.TCPSACKEnabled(true)),
		new(tcpip.TCPModerateReceiveBufferOption(true)),
		new(tcpip.TCPTimeWaitTimeoutOption(timeWait)),
		&tcpip.TCPSendBufferSizeRangeOption{Min: tcp.MinBufferSize, Default: tcpBufferDefault, Max: tcpBufferMax},
		&tcpip.TCPReceiveBufferSizeRangeOption{Min: tcp.MinBufferSize, Default: tcpBufferDefault, Max: tcpBufferMax},
	}
	for _, o := range opts {
		if e := s.ns.SetTransportProtocolOption(tcp.ProtocolNumber, o); e != nil {
			return fmt.Errorf("tcp option %T: %v", o, e)
		}
	}
	return nil
}

// Close stops the stack: it closes listeners and host sockets, aborts the
// sandbox's connections, waits for every goroutine and closes the TAP fd.
// Later calls return nil.
func (s *Stack) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	closers := s.closers
	s.closers = nil
	s.mu.Unlock()

	s.cancel()
	for c := range closers {
		c.Close()
	}
	s.ns.Close() // aborts endpoints, which wakes blocked readers
	s.wg.Wait()
	s.workers.stop()
	s.hosts.Close() // its sockets were closed by their goroutines
	// WARNING: the TAP reader is stopped (and waited for) before the NIC is
	// removed. ns.Wait removes the NIC holding the stack's lock, and the
	// NIC's removal stops the reader; a reader delivering a frame (IPv6
	// needs the stack's read lock) would then wait for ns.Wait, which waits
	// for it. Stopped here, with no lock held, its Attach(nil) is a no-op.
	s.link.Attach(nil)
	s.ns.Wait() // removes the NIC
	s.link.Close()
	return nil
}

// Stats returns the counters so far.
func (s *Stack) Stats() Stats {
	return Stats{
		TCPConns:  s.tcpConns.Load(),
		UDPFlows:  s.udpFlows.Load(),
		Refused:   s.refused.Load(),
		Published: s.published.Load(),
		BytesUp:   s.bytesUp.Load(),
		BytesDown: s.bytesDown.Load(),
	}
}

// errClosed is returned for work offered to a closed Stack.
var errClosed = errors.New("netstack: stack closed")

// goTracked runs f in a goroutine that Close waits for, and registers c (if
// non-nil) to be closed by Close, which must make f return. After Close it
// closes c and returns errClosed.
func (s *Stack) goTracked(c io.Closer, f func()) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		if c != nil {
			c.Close()
		}
		return errClosed
	}
	if c != nil {
		s.closers[c] = struct{}{}
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer s.untrack(c)
		f()
	}()
	return nil
}

// trackDial registers a host socket being dialled, for Close to close, and
// returns the function that forgets it again. After Close it closes c at
// once (the dial then fails).
func (s *Stack) trackDial(c *hostTCP) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return func() {}
	}
	s.closers[c] = struct{}{}
	return func() { s.untrack(c) }
}

// untrack forgets c; the goroutine that owned it has closed it.
func (s *Stack) untrack(c io.Closer) {
	if c == nil {
		return
	}
	s.mu.Lock()
	delete(s.closers, c)
	s.mu.Unlock()
}

func tcpipAddr(ip netip.Addr) tcpip.Address {
	if ip.Is4() {
		return tcpip.AddrFrom4(ip.As4())
	}
	return tcpip.AddrFrom16(ip.As16())
}

// netipAddr converts without unmapping: an IPv4-mapped IPv6 destination
// must stay one for route to refuse it.
func netipAddr(a tcpip.Address) netip.Addr {
	ip, _ := netip.AddrFromSlice(a.AsSlice())
	return ip
}
