// Package runtime runs a spec: the parent on the host, the pid-1 init inside
// the new namespaces, and the exec stage that becomes the program. See
// docs/process-model.md for the handshake.
package runtime

import (
	"fmt"
	"strings"
	"syscall"
)

// Exit statuses of the sandbox personality (the bwrap personality uses 1 for
// every failure of its own, as bubblewrap does).
const (
	// ExitSetup: the sandbox could not be set up (bad flag, missing path,
	// host refuses namespaces...).
	ExitSetup = 125
	// ExitCannotExec: the command exists but could not be executed.
	ExitCannotExec = 126
	// ExitNotFound: the command was not found.
	ExitNotFound = 127
	// ExitBwrapFailure is bubblewrap's status for all of its own failures.
	ExitBwrapFailure = 1
)

// NSInode is one namespace entry of the info and status JSON.
type NSInode struct {
	Name  string // "cgroup", "ipc", "mnt", "net", "pid", "uts"
	Inode uint64
}

// InfoJSON renders --info-fd's document exactly as bubblewrap does.
func InfoJSON(pid int, ns []NSInode, extra []string) string {
	return "{\n    " + strings.Join(startMembers(pid, ns, extra), ",\n    ") + "\n}\n"
}

// StatusStartJSON renders the first --json-status-fd line.
func StatusStartJSON(pid int, ns []NSInode, extra []string) string {
	return oneLine(startMembers(pid, ns, extra))
}

// StatusExitJSON renders the last --json-status-fd line; extra members
// (sandbox personality) follow the exit code.
func StatusExitJSON(code int, extra ...string) string {
	return oneLine(append([]string{fmt.Sprintf(`"exit-code": %d`, code)}, extra...))
}

// startMembers are the members of the info document and of the first
// status line: the child's pid, its namespaces, then the extras.
func startMembers(pid int, ns []NSInode, extra []string) []string {
	m := []string{fmt.Sprintf(`"child-pid": %d`, pid)}
	for _, n := range ns {
		m = append(m, fmt.Sprintf(`"%s-namespace": %d`, n.Name, n.Inode))
	}
	return append(m, extra...)
}

// oneLine is bubblewrap's one-line form of a JSON object.
func oneLine(members []string) string { return "{ " + strings.Join(members, ", ") + " }\n" }

// ExitCode turns a wait status into the shell's convention: the exit status,
// or 128+N when killed by signal N.
func ExitCode(ws syscall.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return 255
}
