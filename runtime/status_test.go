package runtime

import (
	"encoding/json"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// allNS is bubblewrap's fixed order: cgroup, ipc, mnt, net, pid, uts.
var allNS = []NSInode{
	{"cgroup", 4026532181}, {"ipc", 4026532179}, {"mnt", 4026532177},
	{"net", 4026532182}, {"pid", 4026532180}, {"uts", 4026532178},
}

// The expected documents are bubblewrap 0.8/0.11's output, byte for byte
// (bubblewrap.c: main and namespace_ids_write).
func TestInfoJSON(t *testing.T) {
	tests := []struct {
		name  string
		pid   int
		ns    []NSInode
		extra []string
		want  string
	}{
		{
			name: "unshare-all",
			pid:  2735,
			ns:   allNS,
			want: "{\n" +
				"    \"child-pid\": 2735,\n" +
				"    \"cgroup-namespace\": 4026532181,\n" +
				"    \"ipc-namespace\": 4026532179,\n" +
				"    \"mnt-namespace\": 4026532177,\n" +
				"    \"net-namespace\": 4026532182,\n" +
				"    \"pid-namespace\": 4026532180,\n" +
				"    \"uts-namespace\": 4026532178\n" +
				"}\n",
		},
		{
			name: "mount namespace only",
			pid:  42,
			ns:   []NSInode{{"mnt", 4026531841}},
			want: "{\n    \"child-pid\": 42,\n    \"mnt-namespace\": 4026531841\n}\n",
		},
		{
			name: "no namespaces",
			pid:  1,
			want: "{\n    \"child-pid\": 1\n}\n",
		},
		{
			name: "inode beyond 2^32",
			pid:  7,
			ns:   []NSInode{{"mnt", 18446744073709551615}},
			want: "{\n    \"child-pid\": 7,\n    \"mnt-namespace\": 18446744073709551615\n}\n",
		},
		{
			name:  "sandbox personality extra field",
			pid:   9,
			ns:    []NSInode{{"mnt", 5}},
			extra: []string{`"id-mapping": "single"`},
			want:  "{\n    \"child-pid\": 9,\n    \"mnt-namespace\": 5,\n    \"id-mapping\": \"single\"\n}\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := InfoJSON(tt.pid, tt.ns, tt.extra)
			if got != tt.want {
				t.Errorf("InfoJSON\n got %q\nwant %q", got, tt.want)
			}
			checkJSONObject(t, got, tt.pid, tt.ns)
		})
	}
}

func TestStatusStartJSON(t *testing.T) {
	tests := []struct {
		name  string
		pid   int
		ns    []NSInode
		extra []string
		want  string
	}{
		{
			name: "unshare-all",
			pid:  2735,
			ns:   allNS,
			want: `{ "child-pid": 2735, "cgroup-namespace": 4026532181, "ipc-namespace": 4026532179, "mnt-namespace": 4026532177, "net-namespace": 4026532182, "pid-namespace": 4026532180, "uts-namespace": 4026532178 }` + "\n",
		},
		{
			name: "mount namespace only",
			pid:  42,
			ns:   []NSInode{{"mnt", 4026531841}},
			want: "{ \"child-pid\": 42, \"mnt-namespace\": 4026531841 }\n",
		},
		{
			name: "no namespaces",
			pid:  1,
			want: "{ \"child-pid\": 1 }\n",
		},
		{
			name:  "sandbox personality extra field",
			pid:   9,
			ns:    []NSInode{{"mnt", 5}},
			extra: []string{`"id-mapping": "subordinate-range"`},
			want:  "{ \"child-pid\": 9, \"mnt-namespace\": 5, \"id-mapping\": \"subordinate-range\" }\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StatusStartJSON(tt.pid, tt.ns, tt.extra)
			if got != tt.want {
				t.Errorf("StatusStartJSON\n got %q\nwant %q", got, tt.want)
			}
			if strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, " }\n") {
				t.Errorf("StatusStartJSON %q is not one line ending in \" }\\n\"", got)
			}
			checkJSONObject(t, got, tt.pid, tt.ns)
		})
	}
}

func TestStatusExitJSONExtra(t *testing.T) {
	got := StatusExitJSON(124, `"timed-out": true`, `"cpu-usec": 5`)
	if want := "{ \"exit-code\": 124, \"timed-out\": true, \"cpu-usec\": 5 }\n"; got != want {
		t.Errorf("StatusExitJSON with extras = %q, want %q", got, want)
	}
}

func TestStatusExitJSON(t *testing.T) {
	for code, want := range map[int]string{
		0:   "{ \"exit-code\": 0 }\n",
		1:   "{ \"exit-code\": 1 }\n",
		137: "{ \"exit-code\": 137 }\n",
		255: "{ \"exit-code\": 255 }\n",
	} {
		got := StatusExitJSON(code)
		if got != want {
			t.Errorf("StatusExitJSON(%d) = %q, want %q", code, got, want)
		}
		var v map[string]int
		if err := json.Unmarshal([]byte(got), &v); err != nil || len(v) != 1 || v["exit-code"] != code {
			t.Errorf("StatusExitJSON(%d) = %q is not {\"exit-code\": %d}: %v", code, got, code, err)
		}
	}
}

// checkJSONObject: the document is valid JSON with the pid and the
// namespaces, and numbers that do not lose precision.
func checkJSONObject(t *testing.T, doc string, pid int, ns []NSInode) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%q is not JSON: %v", doc, err)
	}
	if dec.More() {
		t.Errorf("%q has more than one JSON value", doc)
	}
	if got := v["child-pid"].(json.Number).String(); got != strconv.Itoa(pid) {
		t.Errorf("child-pid = %s, want %d", got, pid)
	}
	for _, n := range ns {
		got, ok := v[n.Name+"-namespace"].(json.Number)
		if !ok || got.String() != strconv.FormatUint(n.Inode, 10) {
			t.Errorf("%s-namespace = %v, want %d", n.Name, v[n.Name+"-namespace"], n.Inode)
		}
	}
	if _, ok := v["user-namespace"]; ok {
		t.Errorf("%q has a user-namespace entry; bubblewrap never writes one", doc)
	}
}

func TestExitCode(t *testing.T) {
	exited := func(code int) syscall.WaitStatus { return syscall.WaitStatus(code << 8) }
	signaled := func(sig syscall.Signal, core bool) syscall.WaitStatus {
		ws := syscall.WaitStatus(sig)
		if core {
			ws |= 0x80
		}
		return ws
	}
	stopped := func(sig syscall.Signal) syscall.WaitStatus { return syscall.WaitStatus(0x7f | int(sig)<<8) }
	tests := []struct {
		name string
		ws   syscall.WaitStatus
		want int
	}{
		{"exit 0", exited(0), 0},
		{"exit 1", exited(1), 1},
		{"exit 42", exited(42), 42},
		{"exit 255", exited(255), 255},
		{"SIGKILL", signaled(syscall.SIGKILL, false), 137},
		{"SIGTERM", signaled(syscall.SIGTERM, false), 143},
		{"SIGINT", signaled(syscall.SIGINT, false), 130},
		{"SIGSEGV with core", signaled(syscall.SIGSEGV, true), 139},
		{"SIGABRT with core", signaled(syscall.SIGABRT, true), 134},
		{"stopped is neither", stopped(syscall.SIGSTOP), 255},
		{"continued is neither", syscall.WaitStatus(0xffff), 255},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.ws); got != tt.want {
				t.Errorf("ExitCode(%#x) = %d, want %d", uint32(tt.ws), got, tt.want)
			}
		})
	}
}

func TestExitStatusConstants(t *testing.T) {
	// The README's exit-status table: the sandbox's own failures are told
	// apart from the program's; bwrap uses 1 for all of its own.
	if ExitSetup != 125 || ExitCannotExec != 126 || ExitNotFound != 127 || ExitBwrapFailure != 1 {
		t.Errorf("exit statuses %d %d %d %d, want 125 126 127 1", ExitSetup, ExitCannotExec, ExitNotFound, ExitBwrapFailure)
	}
}
