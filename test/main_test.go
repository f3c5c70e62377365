// Package test holds the end-to-end tests: they run the built binary as an
// ordinary user (and, for TestRoot*, as root) and check what a user sees,
// including what must not happen.
//
// scripts/test builds the binary and runs this package's test binary as an
// ordinary user with SANDBOX_BIN and SANDBOX_BWRAP set. Run by hand with
// `go test ./test`, it builds the binary itself.
package test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	sandboxBin string // the binary, invoked as "sandbox"
	bwrapBin   string // a symlink to it named "bwrap"
)

func TestMain(m *testing.M) {
	sandboxBin = os.Getenv("SANDBOX_BIN")
	bwrapBin = os.Getenv("SANDBOX_BWRAP")
	if sandboxBin == "" {
		dir, err := os.MkdirTemp("", "sandbox-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Chmod(dir, 0o755)
		sandboxBin = filepath.Join(dir, "sandbox")
		build := exec.Command("go", "build", "-o", sandboxBin, "../cmd/sandbox")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
			os.Exit(2)
		}
		bwrapBin = filepath.Join(dir, "bwrap")
		os.Symlink("sandbox", bwrapBin)
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// result is what one run of the binary did.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runOpts tweaks one run.
type runOpts struct {
	stdin   string
	dir     string
	env     []string
	files   []*os.File // become fds 3, 4, ...
	timeout time.Duration
}

func runWith(t *testing.T, o runOpts, bin string, args ...string) result {
	t.Helper()
	if o.timeout == 0 {
		o.timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader(o.stdin)
	cmd.Dir = o.dir
	if o.env != nil {
		cmd.Env = o.env
	}
	cmd.ExtraFiles = o.files
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %q: timed out after %v\n%s\n%s", bin, args, o.timeout, out.String(), errb.String())
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s %q: %v", bin, args, err)
		}
		ws := ee.Sys().(syscall.WaitStatus)
		code = ws.ExitStatus()
		if ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// sb runs the binary as "sandbox".
func sb(t *testing.T, args ...string) result {
	t.Helper()
	return runWith(t, runOpts{}, sandboxBin, args...)
}

// bw runs the binary as "bwrap".
func bw(t *testing.T, args ...string) result {
	t.Helper()
	return runWith(t, runOpts{}, bwrapBin, args...)
}

// usrArgs gives a minimal bwrap-style root: /usr and the merged-/usr links.
func usrArgs() []string {
	a := []string{"--ro-bind", "/usr", "/usr"}
	for _, top := range []string{"/bin", "/sbin", "/lib", "/lib64", "/lib32"} {
		if t, err := os.Readlink(top); err == nil {
			a = append(a, "--symlink", t, top)
		} else if _, err := os.Stat(top); err == nil {
			a = append(a, "--ro-bind", top, top)
		}
	}
	return a
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func mustCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
}

// requireHost skips when the host lacks a feature, with the reason; under
// CI=true (where scripts/test provides everything) the skip is a failure.
func requireHost(t *testing.T, ok bool, reason string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI must provide this: %s", reason)
	}
	t.Skip(reason)
}

func asRoot() bool { return os.Getuid() == 0 }

// requireUser skips tests meant for an ordinary user when run as root.
func requireUser(t *testing.T) {
	t.Helper()
	if asRoot() {
		t.Skip("runs as an ordinary user (scripts/test runs it as one)")
	}
}

func haveCmd(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// workDir returns a fresh directory the test may bind into sandboxes.
func workDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	os.Chmod(d, 0o755)
	return d
}
