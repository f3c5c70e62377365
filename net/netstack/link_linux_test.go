package netstack

import (
	"bytes"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

func TestVnetHeader(t *testing.T) {
	// segment builds an Ethernet+IPv4+TCP frame with payload bytes of data
	// and the given GSO options.
	segment := func(payload int, gso stack.GSO) *stack.PacketBuffer {
		pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{
			ReserveHeaderBytes: header.EthernetMinimumSize + header.IPv4MinimumSize + header.TCPMinimumSize,
			Payload:            buffer.MakeWithData(make([]byte, payload)),
		})
		pkt.TransportHeader().Push(header.TCPMinimumSize)
		pkt.NetworkHeader().Push(header.IPv4MinimumSize)
		pkt.LinkHeader().Push(header.EthernetMinimumSize)
		pkt.GSOOptions = gso
		return pkt
	}
	tcp4 := stack.GSO{Type: stack.GSOTCPv4, NeedsCsum: true, CsumOffset: header.TCPChecksumOffset, MSS: 1000, L3HdrLen: header.IPv4MinimumSize}
	ne := binary.NativeEndian
	for _, tt := range []struct {
		name      string
		payload   int
		gso       stack.GSO
		flags     byte
		gsoType   byte
		gsoSize   uint16
		csumStart uint16
	}{
		{"no offload", 100, stack.GSO{}, 0, 0, 0, 0},
		{"partial checksum", 100, tcp4, vnetNeedsCsum, 0, 0, 14 + 20},
		{"longer than the mss", 3000, tcp4, vnetNeedsCsum, vnetGSOTCPv4, 1000, 14 + 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pkt := segment(tt.payload, tt.gso)
			defer pkt.DecRef()
			var hdr [virtioNetHdrLen]byte
			(&tapLink{vnet: true}).vnetHeader(&hdr, pkt)
			if hdr[0] != tt.flags || hdr[1] != tt.gsoType || ne.Uint16(hdr[4:]) != tt.gsoSize || ne.Uint16(hdr[6:]) != tt.csumStart {
				t.Errorf("header % x: want flags %d, gso type %d, gso size %d, csum start %d", hdr, tt.flags, tt.gsoType, tt.gsoSize, tt.csumStart)
			}
			if tt.flags != 0 && (ne.Uint16(hdr[8:]) != header.TCPChecksumOffset || ne.Uint16(hdr[2:]) != 14+20+20) {
				t.Errorf("header % x: want csum offset %d and hdr len %d", hdr, header.TCPChecksumOffset, 14+20+20)
			}
		})
	}
}

func TestRxBufferTake(t *testing.T) {
	for _, vnet := range []bool{false, true} {
		var b rxBuffer
		b.init(vnet)
		b.iovecs()
		hdr := 0
		if vnet {
			hdr = virtioNetHdrLen
		}
		// A frame of 500 bytes takes the first three views (128, 256,
		// 256) and leaves the rest for the next read.
		got := b.take(hdr + 500)
		if got.Size() != 500 {
			t.Errorf("vnet %v: took %d bytes, want 500", vnet, got.Size())
		}
		got.Release()
		for i, v := range b.views {
			if (i < 3) != (v == nil) {
				t.Errorf("vnet %v: view %d taken = %v, want %v", vnet, i, v == nil, i < 3)
			}
		}
		b.iovecs()
		for i, v := range b.views {
			if v == nil {
				t.Errorf("vnet %v: view %d not refilled", vnet, i)
			}
		}
		b.release()
	}
}

// TestWriteFrame: a frame leaves as the virtio-net header (with offload)
// and then exactly the packet's bytes from its header offset on, whether
// its payload is one view, several, or more than writeFrame's iovec array
// holds (the merging path); each write is one datagram on the stand-in TAP.
func TestWriteFrame(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	for _, views := range []int{1, 3, 15, 16, 40} {
		for _, vnet := range []bool{false, true} {
			var payload buffer.Buffer
			var want []byte
			for i := range views {
				chunk := bytes.Repeat([]byte{byte(i + 1)}, 100+i)
				payload.Append(buffer.NewViewWithData(chunk))
				want = append(want, chunk...)
			}
			// 8 bytes reserved beyond the headers: the frame starts at an
			// offset into the first view.
			pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{
				ReserveHeaderBytes: 8 + header.EthernetMinimumSize + header.IPv4MinimumSize,
				Payload:            payload,
			})
			ip := pkt.NetworkHeader().Push(header.IPv4MinimumSize)
			for i := range ip {
				ip[i] = 0xaa
			}
			eth := pkt.LinkHeader().Push(header.EthernetMinimumSize)
			for i := range eth {
				eth[i] = 0xee
			}
			want = append(append(append([]byte{}, eth...), ip...), want...)
			l := &tapLink{vnet: vnet, wfd: fds[0]}
			if err := l.writeFrame(pkt); err != nil {
				t.Fatalf("%d views, vnet %v: %v", views, vnet, err)
			}
			buf := make([]byte, 1<<16)
			n, err := unix.Read(fds[1], buf)
			if err != nil {
				t.Fatal(err)
			}
			got := buf[:n]
			if vnet {
				var hdr [virtioNetHdrLen]byte
				l.vnetHeader(&hdr, pkt)
				if !bytes.Equal(got[:virtioNetHdrLen], hdr[:]) {
					t.Errorf("%d views: virtio-net header % x, want % x", views, got[:virtioNetHdrLen], hdr)
				}
				got = got[virtioNetHdrLen:]
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%d views, vnet %v: wrote %d bytes, want %d (or other bytes)", views, vnet, len(got), len(want))
			}
			pkt.DecRef()
		}
	}
}
