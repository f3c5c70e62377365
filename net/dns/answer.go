package dns

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// maxChain bounds the CNAME chain followed from the queried name.
const maxChain = 16

// record is an answer record that matters to the policy.
type record struct {
	owner string // lowercase, with the trailing dot
	ttl   uint32
	cname string // the target of a CNAME, lowercase; "" for other types
	addrs []netip.Addr
}

// learn follows the CNAME chain of resp from q's name, refusing it if a name
// on it is refused (the rule is returned), and binds the chain's addresses
// to q's name. An answer that does not parse is an error: the sandbox's own
// parser might read addresses from it that were never checked.
func (r *Resolver) learn(q dnsmessage.Question, resp []byte) (string, error) {
	recs, err := answerRecords(resp)
	if err != nil {
		return "", err
	}
	cnames := map[string]record{}
	for _, rec := range recs {
		if _, dup := cnames[rec.owner]; rec.cname != "" && !dup {
			cnames[rec.owner] = rec
		}
	}
	qname := lowerASCII(q.Name.String())
	chain := map[string]bool{qname: true}
	ttl := ^uint32(0)
	for cur := qname; len(chain) < maxChain; {
		c, ok := cnames[cur]
		if !ok || chain[c.cname] {
			break
		}
		if ok, rule := r.policy.AliasAllowed(c.cname); !ok {
			return rule, nil
		}
		chain[c.cname] = true
		ttl = min(ttl, c.ttl)
		cur = c.cname
	}
	var addrs []netip.Addr
	for _, rec := range recs {
		if len(rec.addrs) > 0 && chain[rec.owner] {
			addrs = append(addrs, rec.addrs...)
			ttl = min(ttl, rec.ttl)
		}
	}
	if len(addrs) > 0 {
		r.policy.Learn(q.Name.String(), addrs, time.Duration(ttl)*time.Second)
	}
	return "", nil
}

// answerRecords returns the CNAME, A, AAAA, HTTPS and SVCB records of
// resp's answer section.
func answerRecords(resp []byte) ([]record, error) {
	var p dnsmessage.Parser
	if _, err := p.Start(resp); err != nil {
		return nil, err
	}
	if err := p.SkipAllQuestions(); err != nil {
		return nil, err
	}
	var recs []record
	for {
		h, err := p.AnswerHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			return recs, nil
		}
		if err != nil {
			return nil, err
		}
		rec := record{owner: lowerASCII(h.Name.String()), ttl: h.TTL}
		if h.Class != dnsmessage.ClassINET {
			h.Type = 0 // skipped below
		}
		switch h.Type {
		case dnsmessage.TypeCNAME:
			c, err := p.CNAMEResource()
			if err != nil {
				return nil, fmt.Errorf("CNAME of %s: %w", rec.owner, err)
			}
			rec.cname = lowerASCII(c.CNAME.String())
		case dnsmessage.TypeA:
			a, err := p.AResource()
			if err != nil {
				return nil, fmt.Errorf("A of %s: %w", rec.owner, err)
			}
			rec.addrs = []netip.Addr{netip.AddrFrom4(a.A)}
		case dnsmessage.TypeAAAA:
			a, err := p.AAAAResource()
			if err != nil {
				return nil, fmt.Errorf("AAAA of %s: %w", rec.owner, err)
			}
			rec.addrs = []netip.Addr{netip.AddrFrom16(a.AAAA)}
		case dnsmessage.TypeHTTPS:
			s, err := p.HTTPSResource()
			if err != nil {
				return nil, fmt.Errorf("HTTPS of %s: %w", rec.owner, err)
			}
			rec.addrs = hints(&s.SVCBResource)
		case dnsmessage.TypeSVCB:
			s, err := p.SVCBResource()
			if err != nil {
				return nil, fmt.Errorf("SVCB of %s: %w", rec.owner, err)
			}
			rec.addrs = hints(&s)
		default:
			if err := p.SkipAnswer(); err != nil {
				return nil, err
			}
			continue
		}
		recs = append(recs, rec)
	}
}

// hints returns the ipv4hint and ipv6hint addresses of an SVCB record
// (RFC 9460 7.3): browsers may connect to them without asking for A/AAAA.
func hints(s *dnsmessage.SVCBResource) []netip.Addr {
	var out []netip.Addr
	if v, ok := s.GetParam(dnsmessage.SVCParamIPv4Hint); ok {
		for ; len(v) >= 4; v = v[4:] {
			out = append(out, netip.AddrFrom4([4]byte(v[:4])))
		}
	}
	if v, ok := s.GetParam(dnsmessage.SVCParamIPv6Hint); ok {
		for ; len(v) >= 16; v = v[16:] {
			out = append(out, netip.AddrFrom16([16]byte(v[:16])))
		}
	}
	return out
}
