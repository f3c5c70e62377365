package spec

import (
	"strconv"
	"strings"
)

// CapNames lists the Linux capabilities by number (capabilities(7)).
var CapNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// CapAll is the --cap-add/--cap-drop value that names every capability.
const CapAll = "ALL"

// CanonicalCap returns the CAP_* name for a capability given by name (any
// case) or number, or "ALL". With strict (bubblewrap, which uses libcap's
// cap_from_name) the CAP_ prefix is required.
func CanonicalCap(name string, strict bool) (string, bool) {
	u := strings.ToUpper(name)
	if u == CapAll {
		return CapAll, true
	}
	if n, err := strconv.Atoi(name); err == nil {
		if n >= 0 && n < len(CapNames) {
			return CapNames[n], true
		}
		return "", false
	}
	if !strings.HasPrefix(u, "CAP_") {
		if strict {
			return "", false
		}
		u = "CAP_" + u
	}
	for _, c := range CapNames {
		if c == u {
			return c, true
		}
	}
	return "", false
}

// CapNumber returns the number of a CAP_* name, or -1.
func CapNumber(name string) int {
	for i, c := range CapNames {
		if c == name {
			return i
		}
	}
	return -1
}
