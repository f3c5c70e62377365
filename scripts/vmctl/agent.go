package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"time"
)

// syncDelimiter is the byte the agent sends before its answer to
// guest-sync-delimited, and the byte a client sends to reset the agent's
// JSON parser (qemu docs/interop/qemu-ga-ref: guest-sync-delimited).
const syncDelimiter = 0xFF

// errSilent reports that the agent did not answer before the deadline.
var errSilent = errors.New("guest agent did not answer")

// agentError is an error the agent answered with.
type agentError struct{ Class, Desc string }

func (e *agentError) Error() string { return e.Class + ": " + e.Desc }

// agent is one connection to the QEMU guest agent's chardev socket. The
// agent serves one client at a time over a byte stream that outlives
// clients, so answers meant for an earlier client may still be in it:
// sync skips them before the first call.
type agent struct {
	conn    net.Conn
	r       *bufio.Reader
	timeout time.Duration // per answer
}

// dialAgent connects to the chardev socket at path; timeout bounds each
// answer read later.
func dialAgent(path string, timeout time.Duration) (*agent, error) {
	conn, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("connect to guest agent: %w", err)
	}
	return newAgent(conn, timeout), nil
}

func newAgent(conn net.Conn, timeout time.Duration) *agent {
	return &agent{conn: conn, r: bufio.NewReaderSize(conn, 64<<10), timeout: timeout}
}

func (a *agent) Close() error { return a.conn.Close() }

type request struct {
	Execute   string `json:"execute"`
	Arguments any    `json:"arguments,omitempty"`
}

type response struct {
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
}

func (a *agent) send(prefix []byte, cmd string, args any) error {
	b, err := json.Marshal(request{Execute: cmd, Arguments: args})
	if err != nil {
		return fmt.Errorf("encode %s: %w", cmd, err)
	}
	a.conn.SetWriteDeadline(time.Now().Add(a.timeout))
	if _, err := a.conn.Write(append(append(prefix, b...), '\n')); err != nil {
		return fmt.Errorf("send %s: %w", cmd, err)
	}
	return nil
}

// readLine reads one answer (the agent ends each with a newline) by deadline.
func (a *agent) readLine(deadline time.Time) ([]byte, error) {
	a.conn.SetReadDeadline(deadline)
	line, err := a.r.ReadBytes('\n')
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, errSilent
		}
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("guest agent closed the connection: %w", err)
		}
		return nil, err
	}
	return line, nil
}

// sync brings the stream into step: it sends a parser reset and
// guest-sync-delimited with a fresh id every retry interval until the answer
// carrying the latest id arrives after the delimiter, skipping whatever came
// before: answers meant for an earlier client, and, early in boot when
// nobody reads the port yet, the answers to the requests that queued up
// (the agent answers each reset byte with a parse error, too).
func (a *agent) sync(wait, retry time.Duration) error {
	end := time.Now().Add(wait)
	for time.Now().Before(end) {
		id := rand.Int64N(1 << 52) // exact in a JSON double
		if err := a.send([]byte{syncDelimiter}, "guest-sync-delimited", map[string]int64{"id": id}); err != nil {
			return err
		}
		next := time.Now().Add(retry)
		if next.After(end) {
			next = end
		}
		for {
			line, err := a.readLine(next)
			if errors.Is(err, errSilent) {
				break
			}
			if err != nil {
				return err
			}
			i := bytes.LastIndexByte(line, syncDelimiter)
			if i < 0 {
				continue // an answer meant for an earlier client
			}
			var got int64
			if json.Unmarshal(line[i+1:], &struct {
				Return *int64 `json:"return"`
			}{&got}) == nil && got == id {
				return nil
			}
		}
	}
	return fmt.Errorf("sync with guest agent: %w within %v", errSilent, wait)
}

// call runs one command and decodes its "return" into ret (if not nil).
// Precondition: sync succeeded on this connection.
func (a *agent) call(cmd string, args, ret any) error {
	if err := a.send(nil, cmd, args); err != nil {
		return err
	}
	line, err := a.readLine(time.Now().Add(a.timeout))
	if err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil {
		return fmt.Errorf("%s: decode answer %.80q: %w", cmd, line, err)
	}
	if resp.Error != nil {
		return fmt.Errorf("%s: %w", cmd, &agentError{resp.Error.Class, resp.Error.Desc})
	}
	if ret == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Return, ret); err != nil {
		return fmt.Errorf("%s: decode return: %w", cmd, err)
	}
	return nil
}

// execStatus is guest-exec-status's answer (qga 7.2: output comes only once
// the process has exited, base64, at most 16 MiB a stream).
type execStatus struct {
	Exited       bool   `json:"exited"`
	ExitCode     *int   `json:"exitcode"`
	Signal       *int   `json:"signal"`
	OutData      []byte `json:"out-data"` // base64 in JSON
	ErrData      []byte `json:"err-data"`
	OutTruncated bool   `json:"out-truncated"`
	ErrTruncated bool   `json:"err-truncated"`
}

// status is the shell-style exit status: the code, or 128+signal.
func (s *execStatus) status() int {
	switch {
	case s.Signal != nil:
		return 128 + *s.Signal
	case s.ExitCode != nil:
		return *s.ExitCode
	}
	return -1
}

// run starts argv in the guest with its output captured and polls until it
// exits or deadline (zero: none) passes.
func (a *agent) run(argv []string, deadline time.Time) (*execStatus, error) {
	var started struct {
		PID int `json:"pid"`
	}
	args := map[string]any{"path": argv[0], "arg": argv[1:], "capture-output": true}
	if err := a.call("guest-exec", args, &started); err != nil {
		return nil, err
	}
	// Polls are cheap (one round trip through virtio-serial): start fast
	// so short commands return fast, back off for long ones.
	pause := time.Millisecond
	for {
		var st execStatus
		if err := a.call("guest-exec-status", map[string]int{"pid": started.PID}, &st); err != nil {
			return nil, err
		}
		if st.Exited {
			return &st, nil
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return nil, fmt.Errorf("guest pid %d still running at the deadline", started.PID)
		}
		time.Sleep(pause)
		pause = min(pause*2, 50*time.Millisecond)
	}
}
