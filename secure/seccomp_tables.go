package secure

import "sync"

// Syscall numbers for the calls the seccomp policy names, per architecture.
// Only those calls are listed: the filter allows everything it does not name.
//
// Sources, checked by hand for Linux 6.18: arch/x86/entry/syscalls/syscall_64.tbl
// (x86_64), arch/x86/entry/syscalls/syscall_32.tbl (i386),
// include/uapi/asm-generic/unistd.h (aarch64) and arch/arm64/tools/syscall_32.tbl
// = arch/arm/tools/syscall.tbl EABI (arm), and the generated
// golang.org/x/sys/unix zsysnum_linux_{amd64,386,arm64,arm}.go, which agree.
// seccomp_linux_test.go compares the running architecture's table with
// golang.org/x/sys/unix.
//
// A name missing from a table does not exist on that architecture (vm86 is
// i386 only, iopl/ioperm x86 only, the old one-argument umount i386 only,
// kexec_file_load missing from i386); the compiler skips it there.

// AUDIT_ARCH_* values (include/uapi/linux/audit.h): the ELF machine number
// with __AUDIT_ARCH_64BIT (0x80000000) and __AUDIT_ARCH_LE (0x40000000).
const (
	auditArchX86_64  = 0xc000003e
	auditArchI386    = 0x40000003
	auditArchAarch64 = 0xc00000b7
	auditArchARM     = 0x40000028
)

// x32SyscallBit is __X32_SYSCALL_BIT: x86_64 syscalls with this bit set are
// x32-ABI calls, reported with AUDIT_ARCH_X86_64 too.
const x32SyscallBit = 0x40000000

// syscallABI is one system call ABI the filter checks: seccomp_data.arch names it and
// nr is looked up in its own table.
type syscallABI struct {
	name  string // kernel name, for messages: "x86_64", "i386"
	audit uint32 // seccomp_data.arch
	// nrLimit, when not zero, answers every nr >= nrLimit with ENOSYS before
	// any other check (the x32 ABI shares AUDIT_ARCH_X86_64).
	nrLimit uint32
	// table maps the names of the calls the policy names to their numbers,
	// built on first use: only a compile needs it (the default filter is
	// prebuilt), and every process of the sandbox links this package.
	table func() map[string]uint32
}

// filterTarget is what one native Go architecture's filter checks: its own ABI and
// the 32-bit ABI its kernel may also run. Every other arch value is killed.
type filterTarget struct {
	native, compat syscallABI
}

var abiX86_64 = syscallABI{name: "x86_64", audit: auditArchX86_64, nrLimit: x32SyscallBit, table: sync.OnceValue(func() map[string]uint32 {
	return map[string]uint32{
		"ioctl":             16,
		"clone":             56,
		"clone3":            435,
		"unshare":           272,
		"personality":       135,
		"ptrace":            101,
		"process_vm_readv":  310,
		"process_vm_writev": 311,
		"pidfd_getfd":       438,
		"perf_event_open":   298,
		"keyctl":            250,
		"add_key":           248,
		"request_key":       249,
		"bpf":               321,
		"mount":             165,
		"umount2":           166,
		"pivot_root":        155,
		"chroot":            161,
		"fsopen":            430,
		"fsconfig":          431,
		"fsmount":           432,
		"fspick":            433,
		"open_tree":         428,
		"open_tree_attr":    467,
		"move_mount":        429,
		"mount_setattr":     442,
		"io_uring_setup":    425,
		"io_uring_enter":    426,
		"io_uring_register": 427,
		"userfaultfd":       323,
		"kexec_load":        246,
		"kexec_file_load":   320,
		"init_module":       175,
		"finit_module":      313,
		"delete_module":     176,
		"reboot":            169,
		"swapon":            167,
		"swapoff":           168,
		"acct":              163,
		"quotactl":          179,
		"quotactl_fd":       443,
		"syslog":            103,
		"iopl":              172,
		"ioperm":            173,
		"open_by_handle_at": 304,
		"uselib":            134,
		"nfsservctl":        180,
		"lookup_dcookie":    212,
	}
})}

var abiI386 = syscallABI{name: "i386", audit: auditArchI386, table: sync.OnceValue(func() map[string]uint32 {
	return map[string]uint32{
		"ioctl":             54,
		"clone":             120,
		"clone3":            435,
		"unshare":           310,
		"personality":       136,
		"ptrace":            26,
		"process_vm_readv":  347,
		"process_vm_writev": 348,
		"pidfd_getfd":       438,
		"perf_event_open":   336,
		"keyctl":            288,
		"add_key":           286,
		"request_key":       287,
		"bpf":               357,
		"mount":             21,
		"umount":            22,
		"umount2":           52,
		"pivot_root":        217,
		"chroot":            61,
		"fsopen":            430,
		"fsconfig":          431,
		"fsmount":           432,
		"fspick":            433,
		"open_tree":         428,
		"open_tree_attr":    467,
		"move_mount":        429,
		"mount_setattr":     442,
		"io_uring_setup":    425,
		"io_uring_enter":    426,
		"io_uring_register": 427,
		"userfaultfd":       374,
		"kexec_load":        283,
		"init_module":       128,
		"finit_module":      350,
		"delete_module":     129,
		"reboot":            88,
		"swapon":            87,
		"swapoff":           115,
		"acct":              51,
		"quotactl":          131,
		"quotactl_fd":       443,
		"syslog":            103,
		"iopl":              110,
		"ioperm":            101,
		"open_by_handle_at": 342,
		"uselib":            86,
		"nfsservctl":        169,
		"lookup_dcookie":    253,
		"vm86old":           113,
		"vm86":              166,
	}
})}

var abiAarch64 = syscallABI{name: "aarch64", audit: auditArchAarch64, table: sync.OnceValue(func() map[string]uint32 {
	return map[string]uint32{
		"ioctl":             29,
		"clone":             220,
		"clone3":            435,
		"unshare":           97,
		"personality":       92,
		"ptrace":            117,
		"process_vm_readv":  270,
		"process_vm_writev": 271,
		"pidfd_getfd":       438,
		"perf_event_open":   241,
		"keyctl":            219,
		"add_key":           217,
		"request_key":       218,
		"bpf":               280,
		"mount":             40,
		"umount2":           39,
		"pivot_root":        41,
		"chroot":            51,
		"fsopen":            430,
		"fsconfig":          431,
		"fsmount":           432,
		"fspick":            433,
		"open_tree":         428,
		"open_tree_attr":    467,
		"move_mount":        429,
		"mount_setattr":     442,
		"io_uring_setup":    425,
		"io_uring_enter":    426,
		"io_uring_register": 427,
		"userfaultfd":       282,
		"kexec_load":        104,
		"kexec_file_load":   294,
		"init_module":       105,
		"finit_module":      273,
		"delete_module":     106,
		"reboot":            142,
		"swapon":            224,
		"swapoff":           225,
		"acct":              89,
		"quotactl":          60,
		"quotactl_fd":       443,
		"syslog":            116,
		"open_by_handle_at": 265,
		"nfsservctl":        42,
		"lookup_dcookie":    18,
	}
})}

var abiARM = syscallABI{name: "arm", audit: auditArchARM, table: sync.OnceValue(func() map[string]uint32 {
	return map[string]uint32{
		"ioctl":             54,
		"clone":             120,
		"clone3":            435,
		"unshare":           337,
		"personality":       136,
		"ptrace":            26,
		"process_vm_readv":  376,
		"process_vm_writev": 377,
		"pidfd_getfd":       438,
		"perf_event_open":   364,
		"keyctl":            311,
		"add_key":           309,
		"request_key":       310,
		"bpf":               386,
		"mount":             21,
		"umount2":           52,
		"pivot_root":        218,
		"chroot":            61,
		"fsopen":            430,
		"fsconfig":          431,
		"fsmount":           432,
		"fspick":            433,
		"open_tree":         428,
		"open_tree_attr":    467,
		"move_mount":        429,
		"mount_setattr":     442,
		"io_uring_setup":    425,
		"io_uring_enter":    426,
		"io_uring_register": 427,
		"userfaultfd":       388,
		"kexec_load":        347,
		"kexec_file_load":   401,
		"init_module":       128,
		"finit_module":      379,
		"delete_module":     129,
		"reboot":            88,
		"swapon":            87,
		"swapoff":           115,
		"acct":              51,
		"quotactl":          131,
		"quotactl_fd":       443,
		"syslog":            103,
		"open_by_handle_at": 371,
		"uselib":            86,
		"nfsservctl":        169,
		"lookup_dcookie":    249,
	}
})}

// filterTargets maps a Go GOARCH to the ABIs its filter checks.
var filterTargets = map[string]filterTarget{
	"amd64": {native: abiX86_64, compat: abiI386},
	"arm64": {native: abiAarch64, compat: abiARM},
}
