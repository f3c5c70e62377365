package userns

import (
	"errors"
	"os"
	"strings"
	"syscall"
)

// ExplainCloneError turns a failure to create a user namespace into a message
// and the fix for the host's setting that caused it.
func ExplainCloneError(err error) (msg, hint string) {
	exe, _ := os.Executable()
	return explainCloneError(err, read, exe)
}

// explainCloneError is ExplainCloneError with the host's settings read
// through read, so each case is tested.
func explainCloneError(err error, read func(string) string, exe string) (msg, hint string) {
	if read("/proc/sys/user/max_user_namespaces") == "0" {
		return "creating a user namespace is disabled on this host (user.max_user_namespaces=0)",
			"as root: sysctl -w user.max_user_namespaces=15000 (persist it in /etc/sysctl.d/)"
	}
	if read("/proc/sys/kernel/unprivileged_userns_clone") == "0" {
		return "unprivileged user namespaces are disabled on this host (kernel.unprivileged_userns_clone=0)",
			"as root: sysctl -w kernel.unprivileged_userns_clone=1"
	}
	if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1" &&
		(errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM)) {
		if exe == "" {
			exe = "/usr/local/bin/sandbox"
		}
		return "AppArmor forbids unprivileged user namespaces on this host (kernel.apparmor_restrict_unprivileged_userns=1)",
			"as root, allow this binary: printf 'abi <abi/4.0>,\\ninclude <tunables/global>\\nprofile sandbox " + exe +
				" flags=(unconfined) {\\n  userns,\\n}\\n' > /etc/apparmor.d/sandbox && apparmor_parser -r /etc/apparmor.d/sandbox"
	}
	if errors.Is(err, syscall.ENOSPC) {
		return "too many user namespaces (user.max_user_namespaces reached)", "raise it as root: sysctl -w user.max_user_namespaces=15000"
	}
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) {
		return "creating a user namespace was refused: " + err.Error(),
			"are you inside a container or a seccomp filter that forbids clone(CLONE_NEWUSER)? run on the host or allow user namespaces"
	}
	return "creating the sandbox's namespaces failed: " + err.Error(), ""
}

func read(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
