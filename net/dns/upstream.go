package dns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// buildQuery rebuilds q for upstream: its question, its RD and CD bits, an
// OPT record if it had one (with the DO bit it had), and a fresh random ID
// (math/rand/v2's generator is ChaCha8: IDs are unpredictable).
func buildQuery(q query) (msg []byte, id uint16, err error) {
	id = uint16(rand.Uint32())
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), dnsmessage.Header{
		ID:               id,
		RecursionDesired: q.h.RecursionDesired,
		CheckingDisabled: q.h.CheckingDisabled,
	})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, 0, err
	}
	if err := b.Question(q.q); err != nil {
		return nil, 0, fmt.Errorf("rebuild query for %q: %w", q.q.Name.String(), err)
	}
	if q.edns {
		if err := b.StartAdditionals(); err != nil {
			return nil, 0, err
		}
		var rh dnsmessage.ResourceHeader
		if err := rh.SetEDNS0(ednsUDPSize, dnsmessage.RCodeSuccess, q.dnssecOK); err != nil {
			return nil, 0, err
		}
		if err := b.OPTResource(rh, dnsmessage.OPTResource{}); err != nil {
			return nil, 0, err
		}
	}
	msg, err = b.Finish()
	if err != nil {
		return nil, 0, fmt.Errorf("rebuild query for %q: %w", q.q.Name.String(), err)
	}
	return msg, id, nil
}

// forward sends msg to the upstream servers until one answers it, as the
// package doc says. A server's SERVFAIL or REFUSED is kept and returned
// only if no other server answers better.
func (r *Resolver) forward(q dnsmessage.Question, msg []byte, id uint16) ([]byte, error) {
	if len(r.upstreams) == 0 {
		return nil, errors.New("no upstream servers")
	}
	deadline := time.Now().Add(r.budget)
	var fallback []byte
	var errs []error
	for range rounds {
		for _, up := range r.upstreams {
			if !time.Now().Before(deadline) {
				errs = append(errs, fmt.Errorf("gave up after %v", r.budget))
				return fallback, errors.Join(errs...)
			}
			resp, err := r.exchange(up, q, msg, id, deadline)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if rc := rcode(resp); rc == dnsmessage.RCodeServerFailure || rc == dnsmessage.RCodeRefused {
				fallback = resp
				errs = append(errs, fmt.Errorf("%s: %v", up, rc))
				continue
			}
			return resp, nil
		}
		if fallback != nil {
			// Every server answered; asking again would not help.
			return fallback, nil
		}
	}
	return nil, errors.Join(errs...)
}

// exchange asks one server: over UDP and, when that answer is truncated,
// over TCP.
func (r *Resolver) exchange(up netip.AddrPort, q dnsmessage.Question, msg []byte, id uint16, deadline time.Time) ([]byte, error) {
	resp, err := r.exchangeUDP(up, q, msg, id, r.tryDeadline(deadline))
	if err != nil {
		return nil, fmt.Errorf("%s over udp: %w", up, err)
	}
	if !truncated(resp) {
		return resp, nil
	}
	resp, err = exchangeTCP(up, q, msg, id, r.tryDeadline(deadline))
	if err != nil {
		return nil, fmt.Errorf("%s over tcp after a truncated udp answer: %w", up, err)
	}
	return resp, nil
}

func (r *Resolver) tryDeadline(deadline time.Time) time.Time {
	if d := time.Now().Add(r.tryTimeout); d.Before(deadline) {
		return d
	}
	return deadline
}

// maxMessage is the largest DNS message over either transport.
const maxMessage = 65535

func (r *Resolver) exchangeUDP(up netip.AddrPort, q dnsmessage.Question, msg []byte, id uint16, deadline time.Time) ([]byte, error) {
	// A connected socket takes datagrams from up only; a datagram that is
	// not the answer (a late one to an earlier try, a forgery) is skipped.
	var c UDPConn
	var err error
	if dial := r.dialUDP.Load(); dial != nil {
		c, err = (*dial)(up)
	} else {
		c, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(up))
	}
	if err != nil {
		return nil, err
	}
	defer c.Close()
	// A write to a UDP socket does not wait: the deadline is the read's.
	if err := c.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	buf := make([]byte, maxMessage)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		if isAnswer(buf[:n], q, id) {
			return append([]byte(nil), buf[:n]...), nil
		}
	}
}

func exchangeTCP(up netip.AddrPort, q dnsmessage.Question, msg []byte, id uint16, deadline time.Time) ([]byte, error) {
	d := net.Dialer{Deadline: deadline}
	c, err := d.Dial("tcp", up.String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.SetDeadline(deadline); err != nil {
		return nil, err
	}
	// RFC 1035 4.2.2: each message is prefixed with its length.
	framed := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(msg)), uint16(len(msg)))
	if _, err := c.Write(append(framed, msg...)); err != nil {
		return nil, err
	}
	var n uint16
	if err := binary.Read(c, binary.BigEndian, &n); err != nil {
		return nil, err
	}
	resp := make([]byte, n)
	if _, err := io.ReadFull(c, resp); err != nil {
		return nil, err
	}
	if !isAnswer(resp, q, id) {
		return nil, errors.New("the answer does not match the query")
	}
	return resp, nil
}

// isAnswer reports whether resp answers the query id with question q.
func isAnswer(resp []byte, q dnsmessage.Question, id uint16) bool {
	var p dnsmessage.Parser
	h, err := p.Start(resp)
	if err != nil || !h.Response || h.ID != id {
		return false
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) != 1 {
		return false
	}
	return qs[0].Type == q.Type && qs[0].Class == q.Class &&
		lowerASCII(qs[0].Name.String()) == lowerASCII(q.Name.String())
}

// lowerASCII lowercases ASCII letters only: DNS compares names so (RFC 4343),
// and Unicode folding would equate the Kelvin sign with 'k'.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func truncated(resp []byte) bool { return len(resp) > 2 && resp[2]&0x02 != 0 }

func rcode(resp []byte) dnsmessage.RCode {
	if len(resp) < 4 {
		return dnsmessage.RCodeFormatError
	}
	return dnsmessage.RCode(resp[3] & 0x0f)
}
