package userns

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// A helper's failure is reported with its own words, not only its exit
// status: they name what was wrong (the range, the target).
func TestWriteHelperMessage(t *testing.T) {
	if _, err := exec.LookPath("newuidmap"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("newuidmap is not installed (CI installs uidmap)")
		}
		t.Skip("newuidmap is not installed")
	}
	const gone = 1 << 22 // above pid_max's default and the kernel's limit
	m := []Mapping{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}}
	err := Write(gone, Plan{Kind: KindRange, UIDs: m, GIDs: m})
	if err == nil {
		t.Fatal("mapping a process that does not exist succeeded")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "newuidmap: ") || strings.Contains(msg, "exit status") || !strings.Contains(msg, "4194304") {
		t.Fatalf("error %q: want newuidmap's own message, which names the target", msg)
	}
}
