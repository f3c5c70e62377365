package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeAgent answers like qemu-ga 7.2 on a unix socket: stale is written to
// each client before anything else (answers meant for an earlier client),
// and statuses are the guest-exec-status answers, the last one repeated.
type fakeAgent struct {
	stale    string
	statuses []string
	execErr  string // if set, guest-exec answers with this error
	silent   bool   // never answers
}

func (f *fakeAgent) serve(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "qga.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.handle(c)
		}
	}()
	return sock
}

func (f *fakeAgent) handle(c net.Conn) {
	defer c.Close()
	c.Write([]byte(f.stale))
	r := bufio.NewReader(c)
	polls := 0
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		line = bytes.TrimLeft(line, "\xff")
		var req struct {
			Execute   string          `json:"execute"`
			Arguments json.RawMessage `json:"arguments"`
		}
		if err := json.Unmarshal(line, &req); err != nil {
			fmt.Fprintf(c, `{"error":{"class":"GenericError","desc":"bad json"}}`+"\n")
			continue
		}
		if f.silent {
			continue
		}
		switch req.Execute {
		case "guest-sync-delimited":
			var a struct{ ID int64 }
			json.Unmarshal(req.Arguments, &a)
			fmt.Fprintf(c, "\xff{\"return\": %d}\n", a.ID)
		case "guest-ping":
			fmt.Fprintf(c, "{\"return\": {}}\n")
		case "guest-exec":
			if f.execErr != "" {
				fmt.Fprintf(c, "{\"error\": {\"class\": \"GenericError\", \"desc\": %q}}\n", f.execErr)
				continue
			}
			fmt.Fprintf(c, "{\"return\": {\"pid\": 4242}}\n")
		case "guest-exec-status":
			i := min(polls, len(f.statuses)-1)
			polls++
			fmt.Fprintf(c, "{\"return\": %s}\n", f.statuses[i])
		}
	}
}

func TestExec(t *testing.T) {
	out := `"` + "aGVsbG8K" + `"`     // "hello\n"
	errData := `"` + "b29wcwo=" + `"` // "oops\n"
	tests := []struct {
		name       string
		agent      fakeAgent
		wantStatus int
		wantOut    string
		wantErr    string // substring of stderr
	}{
		{
			name: "exit code and output",
			agent: fakeAgent{statuses: []string{`{"exited": false}`,
				`{"exited": true, "exitcode": 3, "out-data": ` + out + `, "err-data": ` + errData + `}`}},
			wantStatus: 3, wantOut: "hello\n", wantErr: "oops\n",
		},
		{
			name:       "killed by a signal",
			agent:      fakeAgent{statuses: []string{`{"exited": true, "signal": 9}`}},
			wantStatus: 137,
		},
		{
			name: "answers for an earlier client are skipped",
			agent: fakeAgent{
				stale:    "{\"return\": {\"pid\": 1}}\n\xff{\"return\": 12345}\n{\"return\": {}}\n",
				statuses: []string{`{"exited": true, "exitcode": 0, "out-data": ` + out + `}`},
			},
			wantStatus: 0, wantOut: "hello\n",
		},
		{
			name:       "agent error is a harness failure",
			agent:      fakeAgent{execErr: "Guest agent command failed, error was 'Failed to execute child process'"},
			wantStatus: exitHarness, wantErr: "Failed to execute child process",
		},
		{
			name:       "truncated output is said",
			agent:      fakeAgent{statuses: []string{`{"exited": true, "exitcode": 0, "out-truncated": true}`}},
			wantStatus: 0, wantErr: "truncated",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock := tt.agent.serve(t)
			var stdout, stderr bytes.Buffer
			got := run([]string{"-sock", sock, "exec", "--", "/bin/true"}, &stdout, &stderr)
			if got != tt.wantStatus {
				t.Errorf("status = %d, want %d (stderr %q)", got, tt.wantStatus, stderr.String())
			}
			if stdout.String() != tt.wantOut {
				t.Errorf("stdout = %q, want %q", stdout.String(), tt.wantOut)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantErr)
			}
		})
	}
}

func TestSyncSilentAgent(t *testing.T) {
	f := fakeAgent{silent: true}
	sock := f.serve(t)
	a, err := dialAgent(sock, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	start := time.Now()
	err = a.sync(300*time.Millisecond, 100*time.Millisecond)
	if !errors.Is(err, errSilent) {
		t.Fatalf("sync = %v, want errSilent", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("sync took %v, want about 300ms", d)
	}
}

func TestPingNoSocket(t *testing.T) {
	var stdout, stderr bytes.Buffer
	got := run([]string{"-sock", filepath.Join(t.TempDir(), "none"), "ping", "-timeout", "1"}, &stdout, &stderr)
	if got != exitHarness || !strings.Contains(stderr.String(), "connect to guest agent") {
		t.Errorf("ping = %d, stderr %q; want %d and a connect error", got, stderr.String(), exitHarness)
	}
}
