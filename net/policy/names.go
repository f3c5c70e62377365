package policy

import (
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Bounds on what the resolver's answers bind. A binding lives for the
// answer's TTL, but at least minBinding because programs cache answers past
// short TTLs (Java 30 s, browsers a minute or more) and a connection to an
// address they still hold should not fail; at most maxBinding (RFC 8767's cap
// on serving stale data).
const (
	minBinding = 5 * time.Minute
	maxBinding = 7 * 24 * time.Hour
	// The sandbox chooses what it resolves, so it could grow the table
	// without end; these caps bound its memory.
	maxNamesPerAddr = 32
	maxAddrs        = 1 << 16
)

// names binds addresses to the names they were resolved from, each binding
// with its expiry.
type names struct {
	mu     sync.Mutex
	byAddr map[netip.Addr]map[string]time.Time
}

// learn binds addrs to the normalized name until now+ttl, within the bounds
// above. A binding already there is only ever extended.
func (n *names) learn(name string, addrs []netip.Addr, ttl time.Duration, now time.Time) {
	ttl = min(max(ttl, minBinding), maxBinding)
	exp := now.Add(ttl)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.byAddr == nil {
		n.byAddr = map[netip.Addr]map[string]time.Time{}
	}
	for _, a := range addrs {
		a = a.Unmap().WithZone("")
		if !a.IsValid() {
			continue
		}
		m := n.byAddr[a]
		if m == nil {
			if len(n.byAddr) >= maxAddrs {
				n.makeRoom(now)
			}
			m = map[string]time.Time{}
			n.byAddr[a] = m
		}
		if exp.After(m[name]) {
			m[name] = exp
		}
		if len(m) > maxNamesPerAddr {
			delete(m, soonest(m))
		}
	}
}

// lookup returns the names bound to a at now, sorted, and forgets the
// bindings of a that have expired.
func (n *names) lookup(a netip.Addr, now time.Time) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	m := n.byAddr[a]
	var out []string
	for name, exp := range m {
		if now.Before(exp) {
			out = append(out, name)
		} else {
			delete(m, name)
		}
	}
	if m != nil && len(m) == 0 {
		delete(n.byAddr, a)
	}
	slices.Sort(out)
	return out
}

// makeRoom drops every expired binding and, if the table is still full, the
// address whose last binding expires first.
//
// Preconditions: n.mu held.
func (n *names) makeRoom(now time.Time) {
	var victim netip.Addr
	var victimExp time.Time
	for a, m := range n.byAddr {
		last := time.Time{}
		for name, exp := range m {
			if !now.Before(exp) {
				delete(m, name)
			} else if exp.After(last) {
				last = exp
			}
		}
		if len(m) == 0 {
			delete(n.byAddr, a)
			continue
		}
		if !victim.IsValid() || last.Before(victimExp) {
			victim, victimExp = a, last
		}
	}
	if len(n.byAddr) >= maxAddrs {
		delete(n.byAddr, victim)
	}
}

// soonest returns the name in m whose binding expires first.
func soonest(m map[string]time.Time) string {
	var name string
	var first time.Time
	for k, exp := range m {
		if name == "" || exp.Before(first) {
			name, first = k, exp
		}
	}
	return name
}
