package netstack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/rawfile"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// tapLink is the stack's link endpoint: Ethernet frames on the TAP fd, each
// preceded by a virtio_net_hdr when the device has IFF_VNET_HDR (CreateTAP
// makes it so). It replaces gVisor's fdbased endpoint for three reasons,
// all measured with scripts/bench-net:
//
//   - fdbased waits for the TAP in a blocking ppoll. A goroutine blocked in
//     a syscall keeps its P until sysmon takes it away, so the Go runtime
//     churns threads (futex wake-ups, sysmon polling every 20 µs) for every
//     idle-to-busy transition of the link, about once per connection. Here
//     the fd is in Go's netpoller: a reader with nothing to read parks like
//     any socket reader.
//   - fdbased hands each frame from its reader to processor goroutines; here
//     the reader delivers it itself (one goroutine hop less per frame).
//   - fdbased does virtio-net headers (checksum offload) only on sockets,
//     never on a TAP fd. With the header, TCP segments to the sandbox carry
//     only the pseudo-header checksum (CHECKSUM_PARTIAL, which the sandbox's
//     kernel takes as verified) and, with TUN_F_CSUM, the sandbox's kernel
//     does not checksum what it sends us either: each direction saves a pass
//     over every byte on each side.
type tapLink struct {
	file *os.File        // the TAP, in Go's poller: reads
	rc   syscall.RawConn // file's
	wfd  int             // a dup of the same open TAP for writes (see writeFrame)
	vnet bool            // frames carry a virtio_net_hdr
	mtu  uint32
	addr tcpip.LinkAddress
	logf func(string, ...any)

	mu         sync.RWMutex
	dispatcher stack.NetworkDispatcher
	stopping   atomic.Bool
	done       chan struct{} // closed when the reader has returned; nil before Attach
	onClose    func()
	closeOnce  sync.Once

	// The reader's only: its buffers, and the result of readOnce, a
	// method value made once (a closure per frame would be allocated).
	rx      rxBuffer
	readFn  func(fd uintptr) bool
	rxN     int
	rxErrno unix.Errno
}

// virtioNetHdrLen is sizeof(struct virtio_net_hdr), the TAP's default
// TUNSETVNETHDRSZ (include/uapi/linux/virtio_net.h).
const virtioNetHdrLen = 10

// virtio_net_hdr flags and GSO types.
const (
	vnetNeedsCsum = 1 // VIRTIO_NET_HDR_F_NEEDS_CSUM
	vnetGSOTCPv4  = 1 // VIRTIO_NET_HDR_GSO_TCPV4
	vnetGSOTCPv6  = 4 // VIRTIO_NET_HDR_GSO_TCPV6
)

// gsoMaxSize bounds the TCP segments the stack builds for the sandbox when
// the link takes virtio-net headers: the most an IPv4 or IPv6 packet holds.
// gVisor subtracts its maximum header size from it, so no segment the sandbox
// receives exceeds 64 KiB, and with MTU 65520 none needs segmenting either.
const gsoMaxSize = 65535

// newTAPLink takes ownership of fd, a TAP device's descriptor.
func newTAPLink(fd int, mtu uint32, addr tcpip.LinkAddress, logf func(string, ...any)) (*tapLink, error) {
	vnet, err := tapHasVnetHdr(fd)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	// Non-blocking before os.NewFile, which then registers the fd with the
	// poller; the write dup shares the open file and so the flag.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap: set non-blocking: %w", err)
	}
	wfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap: dup: %w", err)
	}
	l := &tapLink{file: os.NewFile(uintptr(fd), "tap"), wfd: wfd, vnet: vnet, mtu: mtu, addr: addr, logf: logf}
	if l.rc, err = l.file.SyscallConn(); err != nil {
		l.closeFDs()
		return nil, fmt.Errorf("tap: %w", err)
	}
	l.rx.init(vnet)
	l.readFn = l.readOnce
	return l, nil
}

// tapHasVnetHdr reports whether the TAP on fd has IFF_VNET_HDR (TUNGETIFF,
// see Documentation/networking/tuntap.rst).
func tapHasVnetHdr(fd int) (bool, error) {
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return false, err
	}
	if err := unix.IoctlIfreq(fd, unix.TUNGETIFF, ifr); err != nil {
		return false, fmt.Errorf("tap: TUNGETIFF: %w", err)
	}
	flags := ifr.Uint16()
	if flags&unix.IFF_TAP == 0 {
		return false, fmt.Errorf("tap: the device is not a TAP device (flags %#x)", flags)
	}
	return flags&unix.IFF_VNET_HDR != 0, nil
}

func (l *tapLink) closeFDs() {
	l.closeOnce.Do(func() {
		l.file.Close()
		unix.Close(l.wfd)
	})
}

// MTU implements stack.LinkEndpoint.
func (l *tapLink) MTU() uint32 { return l.mtu }

// SetMTU implements stack.LinkEndpoint; the TAP's MTU is fixed at creation.
func (l *tapLink) SetMTU(uint32) {}

// MaxHeaderLength implements stack.LinkEndpoint: the Ethernet header (the
// virtio-net header is written from its own buffer).
func (l *tapLink) MaxHeaderLength() uint16 { return header.EthernetMinimumSize }

// LinkAddress implements stack.LinkEndpoint.
func (l *tapLink) LinkAddress() tcpip.LinkAddress { return l.addr }

// SetLinkAddress implements stack.LinkEndpoint; the address is fixed.
func (l *tapLink) SetLinkAddress(tcpip.LinkAddress) {}

// Capabilities implements stack.LinkEndpoint. RX checksum offload: what the
// sandbox's kernel sends was checksummed by it, or carries a partial
// checksum it vouches for (CHECKSUM_PARTIAL), or is its own problem.
func (l *tapLink) Capabilities() stack.LinkEndpointCapabilities {
	return stack.CapabilityResolutionRequired | stack.CapabilityRXChecksumOffload
}

// GSOMaxSize implements stack.GSOEndpoint.
func (l *tapLink) GSOMaxSize() uint32 {
	if l.vnet {
		return gsoMaxSize
	}
	return 0
}

// SupportedGSO implements stack.GSOEndpoint. "Host GSO" is what makes the
// TCP endpoint leave checksums to the link (stack.GSO.NeedsCsum), which the
// virtio-net header passes on to the sandbox's kernel.
func (l *tapLink) SupportedGSO() stack.SupportedGSO {
	if l.vnet {
		return stack.HostGSOSupported
	}
	return stack.GSONotSupported
}

// ARPHardwareType implements stack.LinkEndpoint.
func (l *tapLink) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareEther }

// AddHeader implements stack.LinkEndpoint.
func (l *tapLink) AddHeader(pkt *stack.PacketBuffer) {
	eth := header.Ethernet(pkt.LinkHeader().Push(header.EthernetMinimumSize))
	eth.Encode(&header.EthernetFields{
		SrcAddr: pkt.EgressRoute.LocalLinkAddress,
		DstAddr: pkt.EgressRoute.RemoteLinkAddress,
		Type:    pkt.NetworkProtocolNumber,
	})
}

// ParseHeader implements stack.LinkEndpoint.
func (l *tapLink) ParseHeader(pkt *stack.PacketBuffer) bool {
	hdr, ok := pkt.LinkHeader().Consume(header.EthernetMinimumSize)
	if !ok {
		return false
	}
	pkt.NetworkProtocolNumber = header.Ethernet(hdr).Type()
	return true
}

// Attach implements stack.LinkEndpoint: a dispatcher starts the reader, nil
// stops it and waits for it.
func (l *tapLink) Attach(d stack.NetworkDispatcher) {
	l.mu.Lock()
	if d == nil {
		started := l.dispatcher != nil
		l.dispatcher = nil
		l.mu.Unlock()
		if started {
			// Wakes the reader from the poller; it sees stopping.
			l.stopping.Store(true)
			l.file.SetReadDeadline(time.Unix(1, 0))
			l.Wait()
		}
		return
	}
	defer l.mu.Unlock()
	if l.dispatcher != nil || l.done != nil {
		return
	}
	l.dispatcher = d
	l.done = make(chan struct{})
	go l.readLoop(d)
}

// IsAttached implements stack.LinkEndpoint.
func (l *tapLink) IsAttached() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.dispatcher != nil
}

// Wait implements stack.LinkEndpoint: it waits for the reader to return.
func (l *tapLink) Wait() {
	l.mu.RLock()
	done := l.done
	l.mu.RUnlock()
	if done != nil {
		<-done
	}
}

// Close implements stack.LinkEndpoint: it closes the TAP descriptors.
//
// Preconditions: the reader has stopped (Attach(nil)) and nothing writes any
// more (the stack was closed and waited for).
func (l *tapLink) Close() {
	l.closeFDs()
	l.mu.Lock()
	f := l.onClose
	l.onClose = nil
	l.mu.Unlock()
	if f != nil {
		f()
	}
}

// SetOnCloseAction implements stack.LinkEndpoint.
func (l *tapLink) SetOnCloseAction(f func()) {
	l.mu.Lock()
	l.onClose = f
	l.mu.Unlock()
}

// readLoop reads frames and delivers each in the reading goroutine until the
// link is stopped or the TAP fails.
func (l *tapLink) readLoop(d stack.NetworkDispatcher) {
	defer close(l.done)
	defer l.rx.release()
	for {
		pkt, err := l.readFrame()
		if err != nil {
			if !l.stopping.Load() {
				l.logf("netstack: tap device gone: %v", err)
			}
			return
		}
		if pkt == nil {
			continue
		}
		d.DeliverNetworkPacket(pkt.NetworkProtocolNumber, pkt)
		pkt.DecRef()
	}
}

// readFrame reads one frame: a packet to deliver, nil for a frame to drop,
// or an error that ends the reader.
func (l *tapLink) readFrame() (*stack.PacketBuffer, error) {
	l.rx.iovecs()
	if err := l.rc.Read(l.readFn); err != nil {
		return nil, err
	}
	n, errno := l.rxN, l.rxErrno
	if errno != 0 {
		return nil, errno
	}
	if n == 0 {
		return nil, errors.New("tap: end of file")
	}
	hdrLen := 0
	if l.vnet {
		hdrLen = virtioNetHdrLen
	}
	if n < hdrLen+header.EthernetMinimumSize {
		return nil, nil
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: l.rx.take(n)})
	hdr, ok := pkt.LinkHeader().Consume(header.EthernetMinimumSize)
	if !ok {
		pkt.DecRef()
		return nil, nil
	}
	e := header.Ethernet(hdr)
	// Frames for us or for a group (broadcast, multicast: ARP and NDP).
	if dst := e.DestinationAddress(); dst != l.addr && dst[0]&1 == 0 {
		pkt.DecRef()
		return nil, nil
	}
	pkt.NetworkProtocolNumber = e.Type()
	return pkt, nil
}

// readOnce is the poller's read attempt: false (wait) when there is
// nothing to read.
func (l *tapLink) readOnce(fd uintptr) bool {
	l.rxN, l.rxErrno = readv(int(fd), l.rx.iovs)
	return l.rxErrno != unix.EAGAIN && l.rxErrno != unix.EINTR
}

// WritePackets implements stack.LinkEndpoint. A frame the TAP does not take
// at once is dropped (the sandbox's kernel processes each write before it
// returns, so that happens only when its backlog is full), as a NIC would;
// TCP retransmits.
func (l *tapLink) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	sent := 0
	for _, pkt := range pkts.AsSlice() {
		if err := l.writeFrame(pkt); err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}

// writeFrame writes one frame with writev on wfd, a plain descriptor: the
// TAP takes or drops a frame at once, so there is nothing to wait for in the
// poller (whose locking would only cost). Its header and iovecs stay on the
// stack, and the packet's views are walked in place: no allocation per frame
// (pkt.AsSlices and rawfile's iovec helpers cost three).
func (l *tapLink) writeFrame(pkt *stack.PacketBuffer) tcpip.Error {
	var hdr [virtioNetHdrLen]byte
	// Filled by index, not append: a pointer stored through append would
	// move hdr to the heap.
	var iovs [16]unix.Iovec
	n := 0
	if l.vnet {
		l.vnetHeader(&hdr, pkt)
		iovs[n] = iovec(hdr[:])
		n++
	}
	vl, skip := pkt.AsViewList()
	for v := vl.Front(); v != nil; v = v.Next() {
		b := v.AsSlice()
		if skip >= len(b) {
			skip -= len(b)
			continue
		}
		b, skip = b[skip:], 0
		if n == len(iovs) {
			return l.writeFrameMerged(pkt, hdr) // a frame of many views
		}
		iovs[n] = iovec(b)
		n++
	}
	if n == 0 {
		return nil
	}
	if errno := writev(l.wfd, iovs[:n]); errno != 0 {
		return tcpip.TranslateErrno(errno)
	}
	return nil
}

// writeFrameMerged writes a frame of more views than writeFrame's array
// holds, merging any beyond what one writev takes
// (rawfile.AppendIovecFromBytes copies them).
func (l *tapLink) writeFrameMerged(pkt *stack.PacketBuffer, hdr [virtioNetHdrLen]byte) tcpip.Error {
	iovs := make([]unix.Iovec, 0, rawfile.MaxIovs)
	if l.vnet {
		iovs = rawfile.AppendIovecFromBytes(iovs, hdr[:], rawfile.MaxIovs)
	}
	for _, v := range pkt.AsSlices() {
		iovs = rawfile.AppendIovecFromBytes(iovs, v, rawfile.MaxIovs)
	}
	if errno := rawfile.NonBlockingWriteIovec(l.wfd, iovs); errno != 0 {
		return tcpip.TranslateErrno(errno)
	}
	return nil
}

// vnetHeader fills the virtio_net_hdr for pkt: for a TCP segment whose
// checksum the stack left to the link, NEEDS_CSUM with where the checksum
// starts and goes; a GSO type if the segment is longer than the MSS. The
// fields are in the host's byte order (legacy virtio-net on a TAP without
// TUNSETVNETLE/BE).
func (l *tapLink) vnetHeader(hdr *[virtioNetHdrLen]byte, pkt *stack.PacketBuffer) {
	gso := pkt.GSOOptions
	if gso.Type == stack.GSONone {
		return
	}
	ne := binary.NativeEndian
	ne.PutUint16(hdr[2:], uint16(pkt.HeaderSize())) // hdr_len
	if gso.NeedsCsum {
		hdr[0] = vnetNeedsCsum
		ne.PutUint16(hdr[6:], header.EthernetMinimumSize+gso.L3HdrLen) // csum_start
		ne.PutUint16(hdr[8:], gso.CsumOffset)                          // csum_offset
	}
	if pkt.Data().Size() > int(gso.MSS) {
		switch gso.Type {
		case stack.GSOTCPv4:
			hdr[1] = vnetGSOTCPv4
		case stack.GSOTCPv6:
			hdr[1] = vnetGSOTCPv6
		}
		ne.PutUint16(hdr[4:], gso.MSS) // gso_size
	}
}

// rxBufSizes are the reader's buffers for one frame: a frame takes as many of
// them (from the first) as it needs, and only those are replaced, so a small
// frame holds a small buffer. They add up to more than the largest frame:
// 65520 + the Ethernet and virtio-net headers.
var rxBufSizes = []int{128, 256, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768}

// rxBuffer is the reader's scatter list.
type rxBuffer struct {
	vnet   bool
	hdr    [virtioNetHdrLen]byte // the virtio-net header, read and ignored
	views  []*buffer.View
	iovs   []unix.Iovec
	offset int // iovs index of the first view
}

func (b *rxBuffer) init(vnet bool) {
	b.vnet = vnet
	b.views = make([]*buffer.View, len(rxBufSizes))
	if vnet {
		b.offset = 1
	}
	b.iovs = make([]unix.Iovec, b.offset+len(rxBufSizes))
}

// iovecs refills the scatter list with fresh views where frames took them,
// and returns it.
func (b *rxBuffer) iovecs() []unix.Iovec {
	if b.vnet {
		b.iovs[0] = rawfile.IovecFromBytes(b.hdr[:])
	}
	for i, v := range b.views {
		if v != nil {
			continue
		}
		v = buffer.NewViewSize(rxBufSizes[i])
		b.views[i] = v
		b.iovs[b.offset+i] = rawfile.IovecFromBytes(v.AsSlice())
	}
	return b.iovs
}

// take returns the first n bytes read (virtio-net header excluded) as a
// buffer that owns the views holding them.
func (b *rxBuffer) take(n int) buffer.Buffer {
	if b.vnet {
		n -= virtioNetHdrLen
	}
	var out buffer.Buffer
	for i, v := range b.views {
		if n <= 0 {
			break
		}
		if v.Size() > n {
			v.CapLength(n)
		}
		n -= v.Size()
		out.Append(v)
		b.views[i] = nil
	}
	return out
}

func (b *rxBuffer) release() {
	for i, v := range b.views {
		if v != nil {
			v.Release()
			b.views[i] = nil
		}
	}
}
