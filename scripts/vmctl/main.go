// Command vmctl is the QEMU guest-agent client of scripts/vm (the VM that
// proves resource limits against a real systemd). It speaks the agent's
// JSON protocol over the unix socket of the agent's virtio-serial chardev.
//
//	vmctl -sock PATH ping [-timeout SEC]
//	    waits until the agent answers (it queues requests until the guest
//	    has booted far enough to start the agent); exit 0 or 125
//	vmctl -sock PATH exec [-timeout SEC] -- PATH [ARGS...]
//	    runs the command in the guest (guest-exec, polling
//	    guest-exec-status), writes its stdout and stderr to ours once it
//	    has exited (the agent does not stream), and exits with its status:
//	    the code, or 128+N for signal N; 125 if the agent failed or the
//	    command outlived -timeout (0: no deadline)
//	vmctl -sock PATH shutdown
//	    asks the guest to power off (guest-shutdown; the agent does not answer)
//	vmctl version
//	    prints a line; scripts/vm builds the binary with it
//
// Only the standard library.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// exitHarness is the exit status when vmctl itself failed, as distinct from
// the guest command's own status (env(1) and docker use 125 alike).
const exitHarness = 125

// answerTimeout bounds each single answer of a live agent.
const answerTimeout = 30 * time.Second

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vmctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sock := fs.String("sock", "/run/sandbox-vm/qga.sock", "guest agent chardev socket")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "vmctl: no command (ping, exec, shutdown, version)")
		return 2
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	var (
		status int
		err    error
	)
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "vmctl 1")
		return 0
	case "ping":
		err = cmdPing(*sock, rest, stderr)
	case "exec":
		status, err = cmdExec(*sock, rest, stdout, stderr)
	case "shutdown":
		err = cmdShutdown(*sock)
	default:
		fmt.Fprintf(stderr, "vmctl: unknown command %q (ping, exec, shutdown, version)\n", cmd)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "scripts/vm: %s: %v\n", cmd, err)
		return exitHarness
	}
	return status
}

func secondsFlag(fs *flag.FlagSet, def int, usage string) *int {
	return fs.Int("timeout", def, usage)
}

func cmdPing(sock string, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("ping", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := secondsFlag(fs, 180, "seconds to wait for the agent")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := dialAgent(sock, answerTimeout)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.sync(time.Duration(*timeout)*time.Second, time.Second); err != nil {
		return err
	}
	return a.call("guest-ping", nil, nil)
}

func cmdExec(sock string, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("exec", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := secondsFlag(fs, 0, "seconds the command may run (0: no deadline)")
	if err := fs.Parse(args); err != nil {
		return 0, err
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return 0, errors.New("no command (usage: vmctl exec [-timeout SEC] -- PATH [ARGS...])")
	}
	a, err := dialAgent(sock, answerTimeout)
	if err != nil {
		return 0, err
	}
	defer a.Close()
	if err := a.sync(answerTimeout, 2*time.Second); err != nil {
		return 0, err
	}
	var deadline time.Time
	if *timeout > 0 {
		deadline = time.Now().Add(time.Duration(*timeout) * time.Second)
	}
	st, err := a.run(argv, deadline)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", argv[0], err)
	}
	stdout.Write(st.OutData)
	stderr.Write(st.ErrData)
	if st.OutTruncated || st.ErrTruncated {
		fmt.Fprintln(stderr, "scripts/vm: exec: the guest agent truncated the output (16 MiB a stream at most)")
	}
	if st.status() < 0 {
		return 0, fmt.Errorf("%s: exited without a code or signal", argv[0])
	}
	return st.status(), nil
}

func cmdShutdown(sock string) error {
	a, err := dialAgent(sock, 500*time.Millisecond)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.sync(3*time.Second, time.Second); err != nil {
		return err
	}
	// The agent answers guest-shutdown only with an error; on success the
	// guest goes down and the connection stays silent or closes.
	err = a.call("guest-shutdown", map[string]string{"mode": "powerdown"}, nil)
	var ae *agentError
	if errors.As(err, &ae) {
		return err
	}
	return nil
}
