package netstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
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
	// TCP connection: small while idle or interactive, large for bulk.
	spliceSmall = 16 << 10
	spliceLarge = 256 << 10
)

// Stack is a running user-mode network attached to one sandbox's TAP device.
// Its methods are safe for concurrent use.
type Stack struct {
	cfg    Config
	ns     *stack.Stack
	tapFD  int
	ctx    context.Context
	cancel context.CancelFunc
	dialer net.Dialer

	mu      sync.Mutex
	closed  bool
	wg      sync.WaitGroup         // goroutines started by goTracked
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
	if err := cfg.validate(); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netstack: %w", err)
	}
	s := &Stack{
		cfg:      cfg,
		tapFD:    fd,
		closers:  make(map[io.Closer]struct{}),
		dnsSlots: make(chan struct{}, maxDNSInFlight),
	}
	s.dialer = net.Dialer{
		Timeout: dialTimeout,
		// SO_KEEPALIVE with the host's timers, as a safety net for
		// host sockets whose peer vanished; the sandbox's own
		// keepalives end at the stack. Go's default sets three more
		// options per connection.
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1},
	}
	s.smallBufs.New = func() any { b := make([]byte, spliceSmall); return &b }
	s.largeBufs.New = func() any { b := make([]byte, spliceLarge); return &b }
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.start(); err != nil {
		s.cancel()
		if s.ns != nil {
			s.ns.Destroy()
		}
		unix.Close(fd)
		return nil, fmt.Errorf("netstack: %w", err)
	}
	return s, nil
}

// takeFD moves tap's descriptor out of the os.File (and the runtime poller)
// into a plain fd the link endpoint reads with its own syscalls.
func takeFD(tap *os.File) (int, error) {
	rc, err := tap.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("netstack: tap fd: %w", err)
	}
	fd := -1
	var dupErr error
	if err := rc.Control(func(raw uintptr) {
		fd, dupErr = unix.FcntlInt(raw, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, fmt.Errorf("netstack: tap fd: %w", err)
	}
	tap.Close()
	if dupErr != nil {
		return -1, fmt.Errorf("netstack: dup tap fd: %w", dupErr)
	}
	return fd, nil
}

func (s *Stack) start() error {
	link, err := fdbased.New(&fdbased.Options{
		FDs:            []int{s.tapFD},
		MTU:            s.cfg.MTU,
		EthernetHeader: true,
		Address:        gatewayMAC,
		// The TAP's peer is the sandbox's kernel: what it sends was
		// checksummed by it or is the sandbox's own problem.
		RXChecksumOffload: true,
		// Called when the TAP reader stops: on Close, or when the
		// sandbox's network namespace (and with it the device) is gone.
		ClosedFunc: func(e tcpip.Error) {
			if e != nil && s.ctx.Err() == nil {
				s.cfg.logf("netstack: tap device gone: %v", e)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("tap endpoint: %w", err)
	}
	s.ns = stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
	})
	if err := s.setTCPOptions(); err != nil {
		return err
	}
	tcpFwd := tcp.NewForwarder(s.ns, 0, tcpMaxInFlight, s.forwardTCP)
	s.ns.SetTransportProtocolHandler(tcp.ProtocolNumber, tcpFwd.HandlePacket)
	udpFwd := udp.NewForwarder(s.ns, s.forwardUDP)
	s.ns.SetTransportProtocolHandler(udp.ProtocolNumber, udpFwd.HandlePacket)

	// The NIC starts reading the TAP at once; it stays disabled (dropping
	// what it reads) until it is configured.
	if e := s.ns.CreateNICWithOptions(nicID, link, stack.NICOptions{Disabled: true}); e != nil {
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
	// Assigned addresses answer ARP, so the sandbox can reach the gateway
	// and the DNS server on its link.
	for _, ip := range []netip.Addr{s.cfg.GatewayIP, s.cfg.DNSIP} {
		pa := tcpip.ProtocolAddress{
			Protocol:          ipv4.ProtocolNumber,
			AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpipAddr(ip), PrefixLen: s.cfg.PrefixLen},
		}
		if e := s.ns.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); e != nil {
			return fmt.Errorf("add address %v: %v", ip, e)
		}
	}
	s.ns.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, NIC: nicID}})
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
	s.ns.Wait() // removes the NIC, which stops the TAP reader
	return unix.Close(s.tapFD)
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

func netipAddr(a tcpip.Address) netip.Addr {
	ip, _ := netip.AddrFromSlice(a.AsSlice())
	return ip.Unmap()
}
