// Package dns is the sandbox's resolver: the stack hands it each DNS message
// the sandbox sends to the resolver address (10.0.2.3) and sends back what
// Handle returns. It answers through the policy:
//
//   - A name the policy refuses (policy.Policy.NameAllowed) is answered
//     REFUSED, with an RFC 8914 extended error "Prohibited" naming the rule
//     when the query has EDNS, and is never sent upstream. REFUSED rather
//     than NXDOMAIN because it is the truth: the name may well exist, the
//     sandbox may not have it. NXDOMAIN would claim the name and every name
//     under it does not exist, and stub resolvers may cache that; a REFUSED
//     comes back at once, so programs fail fast either way.
//   - Other queries are rebuilt, not copied (one question, a fresh random
//     ID, EDNS only if the query had it), so exactly the name that was
//     checked is forwarded. They go to the upstream servers in order over
//     UDP, over TCP to the same server when the UDP answer is truncated,
//     each try with a timeout, two rounds over the list at most and within
//     a budget shorter than a stub's own 5 s timeout; a server that answers
//     SERVFAIL or REFUSED is passed over for the next. When none answers,
//     the sandbox gets SERVFAIL.
//   - The answer's CNAME chain from the queried name is followed; a name on
//     it that a --net-deny rule refuses (policy.Policy.AliasAllowed) turns
//     the answer into REFUSED (CNAME cloaking). The A and AAAA records of
//     the chain, and the address hints of its HTTPS and SVCB records, are
//     bound to the queried name (policy.Policy.Learn) for the chain's
//     smallest TTL. Records of other owners bind nothing.
//   - The answer goes back as the upstream sent it, but for its ID. Its size
//     is not cut to the query's UDP limit: over the stack's virtual link a
//     large datagram still arrives.
//
// The resolver listens on no socket: Handle is reachable only from inside
// the stack, so it is no open resolver for anyone but the sandbox. It
// answers queries only (opcode QUERY, class IN; zone transfers refused).
package dns

import (
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"sandbox/net/policy"
)

// Timeouts for forwarding. A stub resolver (glibc) waits 5 s before it
// retries, so the resolver gives up and says SERVFAIL before that.
const (
	tryTimeout    = 2 * time.Second
	forwardBudget = 4 * time.Second
	rounds        = 2
)

// ednsUDPSize is the UDP payload size the resolver advertises upstream
// (the DNS flag day 2020 value: no IP fragmentation on common paths).
const ednsUDPSize = 1232

// Extended DNS error codes (RFC 8914).
const (
	optionEDE        = 15
	edeNotSupported  = 21
	edeProhibited    = 18
	edeNetworkError  = 23
	maxEDETextLength = 200
)

// Resolver answers the sandbox's DNS messages. It is safe for concurrent use.
type Resolver struct {
	policy    *policy.Policy
	upstreams []netip.AddrPort
	logf      func(string, ...any)
	dialUDP   atomic.Pointer[DialUDPFunc] // nil: Go's net.DialUDP

	// Set by tests.
	tryTimeout, budget time.Duration
}

// New returns a resolver that checks names with p and forwards to
// upstreams, logging refusals and upstream failures with logf (nil for
// none).
func New(p *policy.Policy, upstreams []netip.AddrPort, logf func(string, ...any)) *Resolver {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Resolver{
		policy:     p,
		upstreams:  append([]netip.AddrPort(nil), upstreams...),
		logf:       logf,
		tryTimeout: tryTimeout,
		budget:     forwardBudget,
	}
}

// UDPConn is a connected UDP socket to an upstream server, as DialUDPFunc
// returns it.
type UDPConn interface {
	Read([]byte) (int, error)
	Write([]byte) (int, error)
	SetReadDeadline(time.Time) error
	Close() error
}

// DialUDPFunc connects a UDP socket to an upstream server.
type DialUDPFunc func(netip.AddrPort) (UDPConn, error)

// SetDialUDP makes the resolver ask its upstream servers over UDP through
// dial (the network stack's own sockets, say) instead of Go's net package;
// TCP, for truncated answers, stays with net. Safe while queries run.
func (r *Resolver) SetDialUDP(dial DialUDPFunc) { r.dialUDP.Store(&dial) }

// query is what Handle keeps of a parsed query.
type query struct {
	h        dnsmessage.Header
	q        dnsmessage.Question
	edns     bool // the query has an OPT record
	dnssecOK bool
}

// Handle answers one DNS message. A message too short for a header, or a
// response, gets an error and no answer; any other malformed one a FORMERR.
func (r *Resolver) Handle(msg []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return nil, fmt.Errorf("parse dns query: %w", err)
	}
	if h.Response {
		return nil, errors.New("parse dns query: the message is a response")
	}
	q := query{h: h}
	if h.OpCode != 0 {
		return reply(q, nil, dnsmessage.RCodeNotImplemented, 0, "")
	}
	question, err := parseQuery(&p, &q)
	if err != nil {
		r.logf("dns: malformed query: %v", err)
		return reply(q, question, dnsmessage.RCodeFormatError, 0, "")
	}
	q.q = *question
	switch {
	case q.q.Class != dnsmessage.ClassINET:
		return reply(q, question, dnsmessage.RCodeRefused, edeNotSupported, "class IN only")
	case q.q.Type == dnsmessage.TypeAXFR || q.q.Type == 251: // 251: IXFR
		return reply(q, question, dnsmessage.RCodeRefused, edeNotSupported, "no zone transfers")
	}
	name := q.q.Name.String()
	if ok, rule := r.policy.NameAllowed(name); !ok {
		r.logf("dns: refused %s %s: %s", q.q.Type, name, rule)
		return reply(q, question, dnsmessage.RCodeRefused, edeProhibited, rule)
	}
	out, id, err := buildQuery(q)
	if err != nil {
		// The name parsed but does not pack (an empty label made of a
		// '.' inside a wire label, say): what would be forwarded would
		// not be what was checked.
		r.logf("dns: malformed query: %v", err)
		return reply(q, nil, dnsmessage.RCodeFormatError, 0, "")
	}
	resp, err := r.forward(q.q, out, id)
	if err != nil {
		r.logf("dns: %s %s: %v; answering SERVFAIL", q.q.Type, name, err)
		return reply(q, question, dnsmessage.RCodeServerFailure, edeNetworkError, "no upstream server answered")
	}
	if rule, err := r.learn(q.q, resp); err != nil {
		r.logf("dns: %s %s: upstream answer: %v; answering SERVFAIL", q.q.Type, name, err)
		return reply(q, question, dnsmessage.RCodeServerFailure, 0, "")
	} else if rule != "" {
		r.logf("dns: refused %s %s: its answer goes through a refused name: %s", q.q.Type, name, rule)
		return reply(q, question, dnsmessage.RCodeRefused, edeProhibited, rule)
	}
	resp[0], resp[1] = byte(h.ID>>8), byte(h.ID)
	return resp, nil
}

// parseQuery reads the one question and the EDNS record of a query. The
// question is returned, when it parsed, even with an error, for the FORMERR
// to echo.
func parseQuery(p *dnsmessage.Parser, q *query) (*dnsmessage.Question, error) {
	qs, err := p.AllQuestions()
	if err != nil {
		return nil, fmt.Errorf("question: %w", err)
	}
	if len(qs) != 1 {
		return nil, fmt.Errorf("%d questions, want 1", len(qs))
	}
	question := &qs[0]
	if err := p.SkipAllAnswers(); err != nil {
		return question, fmt.Errorf("answers: %w", err)
	}
	if err := p.SkipAllAuthorities(); err != nil {
		return question, fmt.Errorf("authorities: %w", err)
	}
	for {
		rh, err := p.AdditionalHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			break
		}
		if err != nil {
			return question, fmt.Errorf("additionals: %w", err)
		}
		if rh.Type == dnsmessage.TypeOPT {
			if q.edns {
				return question, errors.New("two OPT records")
			}
			q.edns, q.dnssecOK = true, rh.DNSSECAllowed()
		}
		if err := p.SkipAdditional(); err != nil {
			return question, fmt.Errorf("additionals: %w", err)
		}
	}
	return question, nil
}

// reply builds an answer without records: an error, or a refusal. With an
// EDNS query and a non-zero ede it carries that extended error.
func reply(q query, question *dnsmessage.Question, rcode dnsmessage.RCode, ede uint16, text string) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), dnsmessage.Header{
		ID:                 q.h.ID,
		Response:           true,
		OpCode:             q.h.OpCode,
		RecursionDesired:   q.h.RecursionDesired,
		RecursionAvailable: true,
		CheckingDisabled:   q.h.CheckingDisabled,
		RCode:              rcode,
	})
	b.EnableCompression()
	if question != nil {
		if err := b.StartQuestions(); err != nil {
			return nil, err
		}
		if err := b.Question(*question); err != nil {
			// A name the builder cannot write (a FORMERR's): answer without it.
			return reply(q, nil, rcode, ede, text)
		}
	}
	if q.edns {
		if err := b.StartAdditionals(); err != nil {
			return nil, err
		}
		var rh dnsmessage.ResourceHeader
		if err := rh.SetEDNS0(ednsUDPSize, dnsmessage.RCodeSuccess, false); err != nil {
			return nil, err
		}
		var opt dnsmessage.OPTResource
		if ede != 0 {
			text = truncate(text, maxEDETextLength)
			data := append([]byte{byte(ede >> 8), byte(ede)}, text...)
			opt.Options = append(opt.Options, dnsmessage.Option{Code: optionEDE, Data: data})
		}
		if err := b.OPTResource(rh, opt); err != nil {
			return nil, err
		}
	}
	msg, err := b.Finish()
	if err != nil {
		return nil, fmt.Errorf("build dns reply: %w", err)
	}
	return msg, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
