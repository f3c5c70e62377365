package netstack

import (
	"bytes"
	"encoding/binary"
	"io"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
)

const (
	// dnsTCPIdle closes a DNS-over-TCP connection that sends no query.
	dnsTCPIdle = 30 * time.Second
	// maxDNSInFlight bounds queries waiting for Config.DNS; more are
	// dropped (the sandbox's resolver retries).
	maxDNSInFlight = 256
)

// serveDNSUDP answers the queries of one sandbox UDP flow to DNSIP:53 until
// it is idle for udpIdle. Each query is answered in its own goroutine so a
// slow upstream does not hold up the flow's other queries (glibc sends A and
// AAAA on one socket).
func (s *Stack) serveDNSUDP(c *gonet.UDPConn) {
	defer c.Close()
	buf := make([]byte, 65536)
	for {
		c.SetReadDeadline(time.Now().Add(udpIdle))
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		select {
		case s.dnsSlots <- struct{}{}:
		default:
			s.cfg.logf("netstack: dns: %d queries in flight, dropping one", maxDNSInFlight)
			continue
		}
		q := bytes.Clone(buf[:n])
		if s.goTracked(nil, func() {
			defer func() { <-s.dnsSlots }()
			if ans := s.answerDNS(q); ans != nil {
				c.Write(ans)
			}
		}) != nil {
			<-s.dnsSlots
			return
		}
	}
}

// serveDNSTCP answers length-prefixed queries on one sandbox TCP connection
// to DNSIP:53 (RFC 7766), one at a time.
func (s *Stack) serveDNSTCP(c *sandboxConn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.abort()
		return
	}
	s.closers[c] = struct{}{}
	s.mu.Unlock()
	defer s.untrack(c)
	defer c.Close()
	var hdr [2]byte
	for {
		c.SetReadDeadline(time.Now().Add(dnsTCPIdle))
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(hdr[:]))
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		ans := s.answerDNS(q)
		if ans == nil || len(ans) > 0xffff {
			return
		}
		msg := make([]byte, 2+len(ans))
		binary.BigEndian.PutUint16(msg, uint16(len(ans)))
		copy(msg[2:], ans)
		if _, err := c.Write(msg); err != nil {
			return
		}
	}
}

// answerDNS asks Config.DNS; when it fails the sandbox gets SERVFAIL at once
// rather than waiting for its resolver's timeout. nil means no answer.
func (s *Stack) answerDNS(q []byte) []byte {
	ans, err := s.cfg.DNS(q)
	if err == nil && len(ans) > 0 {
		return ans
	}
	if err != nil {
		s.cfg.logf("netstack: dns: %v", err)
	}
	return servfail(q)
}
