package netstack

import (
	"encoding/binary"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The raw syscalls of the host sockets in a hostPoller. golang.org/x/sys
// makes read, write, close, connect, shutdown and the socket options
// through the runtime's syscall path (entersyscall), which is what
// hostPoller exists to avoid; none of these block on a non-blocking socket.
// (socket and epoll_ctl are raw in golang.org/x/sys already.)

func rawRead(fd int, b []byte) (int, unix.Errno) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	n, _, errno := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(p), uintptr(len(b)))
	return int(n), errno
}

func rawWrite(fd int, b []byte) (int, unix.Errno) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	n, _, errno := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(p), uintptr(len(b)))
	return int(n), errno
}

// rawClose closes fd. On a socket with SO_LINGER 0 it sends a RST; with a
// positive linger it could block, which the stack never sets.
func rawClose(fd int) unix.Errno {
	_, _, errno := unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
	return errno
}

func rawShutdown(fd, how int) unix.Errno {
	_, _, errno := unix.RawSyscall(unix.SYS_SHUTDOWN, uintptr(fd), uintptr(how), 0)
	return errno
}

// rawConnect starts connecting the non-blocking socket fd to dst (EINPROGRESS
// until the handshake is done).
func rawConnect(fd int, dst netip.AddrPort) unix.Errno {
	var errno unix.Errno
	if dst.Addr().Is4() {
		sa := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: dst.Addr().As4()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], dst.Port())
		_, _, errno = unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	} else {
		sa := unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: dst.Addr().As16()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], dst.Port())
		_, _, errno = unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	}
	return errno
}

func rawSetsockopt(fd, level, opt int, val unsafe.Pointer, size uintptr) unix.Errno {
	_, _, errno := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(val), size, 0)
	return errno
}

func rawSetsockoptInt(fd, level, opt, v int) unix.Errno {
	i := int32(v)
	return rawSetsockopt(fd, level, opt, unsafe.Pointer(&i), 4)
}

func rawSetLinger(fd int, sec int) unix.Errno {
	l := unix.Linger{Onoff: 1, Linger: int32(sec)}
	return rawSetsockopt(fd, unix.SOL_SOCKET, unix.SO_LINGER, unsafe.Pointer(&l), unsafe.Sizeof(l))
}

func rawGetsockoptInt(fd, level, opt int) (int, unix.Errno) {
	var v int32
	size := uint32(4)
	_, _, errno := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&size)), 0)
	return int(v), errno
}

// rawEpollWait collects the ready events of epfd without waiting.
func rawEpollWait(epfd int, events []unix.EpollEvent) (int, unix.Errno) {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])),
		uintptr(len(events)), 0, 0, 0)
	return int(n), errno
}

// rawGetpeername succeeds on a connected socket. (golang.org/x/sys's
// Getpeername also asks the socket's protocol, through the runtime's
// syscall path, to decode the address, which is not wanted here.)
func rawGetpeername(fd int) unix.Errno {
	var sa unix.RawSockaddrAny
	size := uint32(unsafe.Sizeof(sa))
	_, _, errno := unix.RawSyscall(unix.SYS_GETPEERNAME, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&size)))
	return errno
}

// rawAccept4 accepts a connection on the listening socket fd, non-blocking
// and close-on-exec.
func rawAccept4(fd int) (int, unix.Errno) {
	nfd, _, errno := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(fd), 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	return int(nfd), errno
}

// rawRecvfrom reads one datagram from fd and its sender's address.
func rawRecvfrom(fd int, b []byte) (int, netip.AddrPort, unix.Errno) {
	var sa unix.RawSockaddrAny
	size := uint32(unsafe.Sizeof(sa))
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(p), uintptr(len(b)), 0,
		uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&size)))
	if errno != 0 {
		return 0, netip.AddrPort{}, errno
	}
	var from netip.AddrPort
	switch sa.Addr.Family {
	case unix.AF_INET:
		in := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&in.Port))[:])
		from = netip.AddrPortFrom(netip.AddrFrom4(in.Addr), port)
	case unix.AF_INET6:
		in := (*unix.RawSockaddrInet6)(unsafe.Pointer(&sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&in.Port))[:])
		from = netip.AddrPortFrom(netip.AddrFrom16(in.Addr), port)
	}
	return int(n), from, 0
}

// rawSendto sends b as one datagram to dst. An IPv4 dst on an IPv6 socket
// goes as the IPv4-mapped address.
func rawSendto(fd int, b []byte, dst netip.AddrPort, ipv6 bool) unix.Errno {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	var errno unix.Errno
	if !ipv6 {
		sa := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: dst.Addr().Unmap().As4()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], dst.Port())
		_, _, errno = unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(p), uintptr(len(b)), 0,
			uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	} else {
		sa := unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: dst.Addr().As16()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], dst.Port())
		_, _, errno = unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(p), uintptr(len(b)), 0,
			uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	}
	return errno
}
