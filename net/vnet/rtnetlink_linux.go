package vnet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// rtnetlink is a NETLINK_ROUTE socket that sends one request at a time and
// waits for its acknowledgement. See rtnetlink(7) and netlink(7).
type rtnetlink struct {
	fd  int
	seq uint32
}

func openRtnetlink() (*rtnetlink, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	return &rtnetlink{fd: fd}, nil
}

func (nl *rtnetlink) close() { unix.Close(nl.fd) }

// nlmsg builds one netlink message: the fixed family header, then attributes.
type nlmsg struct{ b []byte }

func newNlmsg(typ, flags uint16, fixed []byte) *nlmsg {
	m := &nlmsg{b: make([]byte, unix.NLMSG_HDRLEN, 128)}
	ne := binary.NativeEndian
	ne.PutUint16(m.b[4:], typ)
	ne.PutUint16(m.b[6:], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	m.b = append(m.b, fixed...)
	return m
}

// attr appends a route attribute (struct rtattr), padded to 4 bytes.
func (m *nlmsg) attr(typ uint16, data []byte) {
	var h [unix.SizeofRtAttr]byte
	binary.NativeEndian.PutUint16(h[0:], uint16(unix.SizeofRtAttr+len(data)))
	binary.NativeEndian.PutUint16(h[2:], typ)
	m.b = append(m.b, h[:]...)
	m.b = append(m.b, data...)
	for len(m.b)%4 != 0 {
		m.b = append(m.b, 0)
	}
}

func (m *nlmsg) attrUint32(typ uint16, v uint32) {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], v)
	m.attr(typ, b[:])
}

// do sends m and returns the kernel's answer to it.
func (nl *rtnetlink) do(m *nlmsg) error {
	nl.seq++
	ne := binary.NativeEndian
	ne.PutUint32(m.b[0:], uint32(len(m.b)))
	ne.PutUint32(m.b[8:], nl.seq)
	if err := unix.Sendto(nl.fd, m.b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(nl.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("netlink receive: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return fmt.Errorf("netlink receive: %w", err)
		}
		for _, msg := range msgs {
			if msg.Header.Seq != nl.seq || msg.Header.Type != unix.NLMSG_ERROR {
				continue
			}
			if len(msg.Data) < 4 {
				return errors.New("netlink: short error message")
			}
			if errno := int32(ne.Uint32(msg.Data)); errno != 0 {
				return unix.Errno(-errno)
			}
			return nil
		}
	}
}

// setLinkUp sets the MTU and IFF_UP of interface index.
func (nl *rtnetlink) setLinkUp(index int, mtu uint32) error {
	m, _ := linkUpMsg(index, mtu)
	return nl.do(m)
}

// addAddr adds addr/prefixLen to interface index. IPv6 addresses skip
// duplicate address detection (IFA_F_NODAD): the link has one other end,
// the stack, and a tentative address could not be used for the second or so
// DAD takes.
func (nl *rtnetlink) addAddr(index int, addr netip.Addr, prefixLen int) error {
	m, _ := addrMsg(index, addr, prefixLen)
	return nl.do(m)
}

// addDefaultRoute adds the default route (0.0.0.0/0 or ::/0, by gw's
// family) via gw on interface index to the main table.
func (nl *rtnetlink) addDefaultRoute(index int, gw netip.Addr) error {
	m, _ := routeMsg(index, gw)
	return nl.do(m)
}

// The requests, each with the byte offset of its interface index.

func linkUpMsg(index int, mtu uint32) (*nlmsg, int) {
	var ifi [unix.SizeofIfInfomsg]byte // family, pad, type, index, flags, change
	ifi[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(ifi[4:], uint32(index))
	binary.NativeEndian.PutUint32(ifi[8:], unix.IFF_UP)
	binary.NativeEndian.PutUint32(ifi[12:], unix.IFF_UP)
	m := newNlmsg(unix.RTM_NEWLINK, 0, ifi[:])
	m.attrUint32(unix.IFLA_MTU, mtu)
	return m, unix.NLMSG_HDRLEN + 4
}

func addrMsg(index int, addr netip.Addr, prefixLen int) (*nlmsg, int) {
	var ifa [unix.SizeofIfAddrmsg]byte // family, prefixlen, flags, scope, index
	ifa[0] = family(addr)
	ifa[1] = byte(prefixLen)
	if addr.Is6() {
		ifa[2] = unix.IFA_F_NODAD
	}
	ifa[3] = unix.RT_SCOPE_UNIVERSE
	binary.NativeEndian.PutUint32(ifa[4:], uint32(index))
	m := newNlmsg(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, ifa[:])
	m.attr(unix.IFA_LOCAL, addr.AsSlice())
	m.attr(unix.IFA_ADDRESS, addr.AsSlice())
	return m, unix.NLMSG_HDRLEN + 4
}

func routeMsg(index int, gw netip.Addr) (*nlmsg, int) {
	rtm := [unix.SizeofRtMsg]byte{
		0: family(gw),
		4: unix.RT_TABLE_MAIN,
		5: unix.RTPROT_BOOT,
		6: unix.RT_SCOPE_UNIVERSE,
		7: unix.RTN_UNICAST,
	}
	m := newNlmsg(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, rtm[:])
	m.attr(unix.RTA_GATEWAY, gw.AsSlice())
	m.attrUint32(unix.RTA_OIF, uint32(index))
	return m, len(m.b) - 4
}

// TAPRequest is one rtnetlink request of configureTAP, ready to send: its
// length and sequence number filled in, its interface index 0 for the
// sender to put at IndexAt. An IPv6 request whose answer is EACCES or
// EAFNOSUPPORT (IPv6 off in the namespace or the kernel) ends the list, as
// in configureTAP.
type TAPRequest struct {
	Msg     []byte
	IndexAt int
	IPv6    bool
}

// TAPRequests returns configureTAP's requests for cfg, in order, numbered
// from 1, for a process that can only send bytes (the sandbox's fast init).
func TAPRequests(cfg Layout) []TAPRequest {
	type built struct {
		m  *nlmsg
		at int
	}
	var bs []built
	add := func(m *nlmsg, at int) { bs = append(bs, built{m, at}) }
	add(linkUpMsg(0, cfg.MTU))
	add(addrMsg(0, cfg.SandboxIP, cfg.PrefixLen))
	add(routeMsg(0, cfg.GatewayIP))
	if cfg.SandboxIP6.IsValid() {
		add(addrMsg(0, cfg.SandboxIP6, cfg.PrefixLen6))
		add(routeMsg(0, cfg.GatewayIP6))
	}
	out := make([]TAPRequest, len(bs))
	for i, b := range bs {
		ne := binary.NativeEndian
		ne.PutUint32(b.m.b[0:], uint32(len(b.m.b)))
		ne.PutUint32(b.m.b[8:], uint32(i+1))
		out[i] = TAPRequest{Msg: b.m.b, IndexAt: b.at, IPv6: i >= 3}
	}
	return out
}

func family(a netip.Addr) byte {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}
