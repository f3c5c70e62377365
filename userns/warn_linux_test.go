package userns

import (
	"strings"
	"syscall"
	"testing"
)

func TestExplainCloneError(t *testing.T) {
	cases := []struct {
		name     string
		settings map[string]string
		err      error
		wantMsg  string
		wantHint string
	}{
		{"max_user_namespaces=0", map[string]string{"/proc/sys/user/max_user_namespaces": "0"}, syscall.ENOSPC,
			"user.max_user_namespaces=0", "sysctl -w user.max_user_namespaces="},
		{"debian sysctl", map[string]string{"/proc/sys/kernel/unprivileged_userns_clone": "0"}, syscall.EPERM,
			"kernel.unprivileged_userns_clone=0", "sysctl -w kernel.unprivileged_userns_clone=1"},
		{"ubuntu apparmor", map[string]string{"/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1"}, syscall.EACCES,
			"AppArmor", "userns,"},
		{"apparmor setting but other error", map[string]string{"/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1"}, syscall.EINVAL,
			"refused", "seccomp"},
		{"limit reached", nil, syscall.ENOSPC, "too many user namespaces", "max_user_namespaces"},
		{"other", nil, syscall.ENOMEM, "cannot allocate memory", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			read := func(p string) string { return c.settings[p] }
			msg, hint := explainCloneError(c.err, read, "/usr/local/bin/sandbox")
			if !strings.Contains(msg, c.wantMsg) || !strings.Contains(hint, c.wantHint) {
				t.Fatalf("got %q / %q, want %q / %q", msg, hint, c.wantMsg, c.wantHint)
			}
			if strings.Contains(msg, "\n") {
				t.Fatalf("message has a newline: %q", msg)
			}
		})
	}
	_, hint := explainCloneError(syscall.EACCES, func(p string) string {
		if strings.Contains(p, "apparmor") {
			return "1"
		}
		return ""
	}, "/opt/sb/sandbox")
	if !strings.Contains(hint, "/opt/sb/sandbox") || !strings.Contains(hint, "apparmor_parser -r") {
		t.Fatalf("AppArmor fix does not name the binary and the reload: %q", hint)
	}
}
