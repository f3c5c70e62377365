package spec

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// NetMode is the sandbox's network.
type NetMode string

// The network modes of --net.
const (
	// NetNone: a network namespace with only lo (bwrap's --unshare-net).
	NetNone NetMode = "none"
	// NetUser: a TAP interface driven by a user-mode TCP/IP stack outside.
	NetUser NetMode = "user"
	// NetHost: the host's network (bwrap's --share-net).
	NetHost NetMode = "host"
)

// The user-mode network backends of --net-backend.
const (
	BackendNetstack    = "netstack"
	BackendSlirp4netns = "slirp4netns"
	BackendPasta       = "pasta"
)

// Publish is one -p/--publish: a host port forwarded to a sandbox port.
type Publish struct {
	Proto       string         `json:"proto"` // "tcp" or "udp"
	Host        netip.AddrPort `json:"host"`
	SandboxPort uint16         `json:"sandbox_port"`
}

// Net is the user-mode network's configuration.
type Net struct {
	Mode    NetMode   `json:"mode,omitempty"`
	Backend string    `json:"backend,omitempty"`
	Publish []Publish `json:"publish,omitempty"`
	// Allow and Deny are --net-allow/--net-deny rule texts, checked by the
	// network package.
	Allow             []string `json:"allow,omitempty"`
	Deny              []string `json:"deny,omitempty"`
	AllowHostLoopback bool     `json:"allow_host_loopback,omitempty"`
	Log               string   `json:"log,omitempty"`
	DNS               []string `json:"dns,omitempty"`
}

// ParsePublish parses [hostip:]hostport:sandboxport[/tcp|/udp]; a host IPv6
// address goes in brackets. The host address defaults to 127.0.0.1: a
// published port is not opened to the network unless asked for.
func ParsePublish(s string) (Publish, error) {
	p := Publish{Proto: "tcp"}
	body := s
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		body, p.Proto = s[:i], s[i+1:]
		if p.Proto != "tcp" && p.Proto != "udp" {
			return p, fmt.Errorf("protocol %q: want tcp or udp", p.Proto)
		}
	}
	host := "127.0.0.1"
	var hostPort, sbPort string
	if strings.HasPrefix(body, "[") {
		end := strings.Index(body, "]")
		if end < 0 {
			return p, fmt.Errorf("missing ] after the IPv6 address")
		}
		host, body = body[1:end], strings.TrimPrefix(body[end+1:], ":")
	}
	parts := strings.Split(body, ":")
	switch {
	case len(parts) == 2:
		hostPort, sbPort = parts[0], parts[1]
	case len(parts) == 3 && !strings.HasPrefix(s, "["):
		host, hostPort, sbPort = parts[0], parts[1], parts[2]
	default:
		return p, fmt.Errorf("want [hostip:]hostport:sandboxport[/tcp|/udp]")
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return p, fmt.Errorf("host address %q is not an IP address", host)
	}
	hp, err1 := strconv.ParseUint(hostPort, 10, 16)
	sp, err2 := strconv.ParseUint(sbPort, 10, 16)
	if err1 != nil || err2 != nil || hp == 0 || sp == 0 {
		return p, fmt.Errorf("ports must be numbers from 1 to 65535")
	}
	p.Host, p.SandboxPort = netip.AddrPortFrom(ip, uint16(hp)), uint16(sp)
	return p, nil
}
