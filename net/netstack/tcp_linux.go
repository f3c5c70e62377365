package netstack

import (
	"errors"
	"io"
	"net/netip"
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// enter registers the calling goroutine with Close; false once closed. The
// caller must call s.wg.Done when it finishes.
func (s *Stack) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// forwardTCP handles a SYN from the sandbox, in a goroutine the forwarder
// starts for it: it hands the request to a worker (see workers), whose stack
// has grown already.
func (s *Stack) forwardTCP(req *tcp.ForwarderRequest) {
	if !s.enter() {
		req.Complete(true)
		return
	}
	s.workers.Go(func() {
		defer s.wg.Done()
		s.connectTCP(req)
	})
}

// connectTCP dials the host side of a connection before it completes the
// handshake with the sandbox, so a refused or unreachable destination reaches
// the sandbox as a RST, like a real connection refusal; then it splices the
// two.
func (s *Stack) connectTCP(req *tcp.ForwarderRequest) {
	id := req.ID()
	dst := netip.AddrPortFrom(netipAddr(id.LocalAddress), id.LocalPort)
	kind, hostDst, err := s.cfg.route("tcp", dst)
	if err != nil {
		s.refused.Add(1)
		s.cfg.logf("netstack: tcp to %v refused: %v", dst, err)
		req.Complete(true)
		return
	}
	var host *hostTCP
	if kind == toHost {
		host, err = dialHost(s.ctx, s.hosts, hostDst, s.trackDial)
		if err != nil {
			s.refused.Add(1)
			s.cfg.logf("netstack: tcp to %v: %v", dst, err)
			req.Complete(true)
			return
		}
	}
	var wq waiter.Queue
	ep, e := req.CreateEndpoint(&wq)
	req.Complete(false)
	if e != nil {
		// The sandbox gave up or reset during the handshake.
		if host != nil {
			host.Close()
		}
		return
	}
	sb := &sandboxConn{TCPConn: gonet.NewTCPConn(&wq, ep), ep: ep}
	if kind == toDNS {
		s.serveDNSTCP(sb)
		return
	}
	s.tcpConns.Add(1)
	s.splice(sb, host)
}

// sandboxConn is a netstack TCP connection that can also be reset.
type sandboxConn struct {
	*gonet.TCPConn
	ep tcpip.Endpoint
}

func (c *sandboxConn) abort() { c.ep.Abort() }

// tcpPair is one forwarded connection; Close resets both sides. Its methods
// are the two directions' ends (see splice): one allocation for the pair's
// state, not a closure and its captured variables each.
type tcpPair struct {
	s    *Stack
	sb   *sandboxConn
	host hostStream
	once sync.Once
	// done counts the directions that ended; hostEOF: the host's side
	// ended with EOF.
	done    atomic.Int32
	hostEOF atomic.Bool
}

func (p *tcpPair) Close() error {
	p.once.Do(func() {
		p.host.SetLinger(0) // RST, not FIN: the peer must not take it for EOF
		p.host.Close()
		p.sb.abort()
	})
	return nil
}

// finish ends one direction: an error resets both connections; the second
// direction to end closes both.
func (p *tcpPair) finish(err error) {
	if err != nil {
		p.Close()
	}
	if p.done.Add(1) == 2 {
		p.host.Close()
		p.sb.Close()
		p.s.untrack(p)
	}
}

// down copies host to sandbox, in a worker counted in s.wg on its own.
func (p *tcpPair) down() {
	defer p.s.wg.Done()
	err := p.s.copyStream(p.sb, p.host, &p.s.bytesDown)
	if err == nil {
		p.hostEOF.Store(true)
		err = p.sb.CloseWrite()
	}
	p.finish(err)
}

// splice copies both ways between the sandbox and the host until both
// directions are done. EOF is passed on as a half-close (FIN); any other
// error resets both connections so neither peer mistakes it for EOF. It
// copies sandbox to host itself, at once (the sandbox's first request has
// often arrived with the end of the handshake), and host to sandbox in a
// worker; whichever direction ends last closes both connections, so neither
// waits for the other (one goroutine wake-up less per connection).
//
// Preconditions: the caller is counted in s.wg.
func (s *Stack) splice(sb *sandboxConn, host hostStream) {
	p := &tcpPair{s: s, sb: sb, host: host}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		p.Close()
		return
	}
	s.closers[p] = struct{}{}
	// The host-to-sandbox worker is counted for Close on its own; the
	// caller's count makes this Add safe.
	s.wg.Add(1)
	s.mu.Unlock()

	s.workers.Go(p.down)
	err := s.copyStream(host, sb, &s.bytesUp)
	// The host's FIN when the other direction is over already comes from
	// host.Close in finish: one syscall less.
	if err == nil && !p.hostEOF.Load() {
		err = host.CloseWrite()
	}
	p.finish(err)
}

// copyStream copies src to dst until EOF (nil) or an error. It reads into a
// small buffer and moves to a large one while reads fill the small one, so an
// idle connection holds spliceSmall bytes per direction, not spliceLarge.
// (io.Copy would hand the copy to (*net.TCPConn).ReadFrom, whose generic path
// uses a fixed 32 KiB buffer.)
func (s *Stack) copyStream(dst io.Writer, src io.Reader, counter *atomic.Uint64) error {
	small := s.smallBufs.Get().(*[]byte)
	defer s.smallBufs.Put(small)
	var large *[]byte
	defer func() {
		if large != nil {
			s.largeBufs.Put(large)
		}
	}()
	buf := *small
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
			counter.Add(uint64(n))
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case large == nil && n == len(buf):
			large = s.largeBufs.Get().(*[]byte)
			buf = *large
		case large != nil && n <= len(*small):
			s.largeBufs.Put(large)
			large = nil
			buf = *small
		}
	}
}
