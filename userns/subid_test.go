package userns

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseSubIDs(t *testing.T) {
	tests := []struct {
		name    string
		content string
		user    string
		id      uint32
		want    []Range
	}{
		{
			name:    "by name",
			content: "alice:100000:65536\n",
			user:    "alice", id: 1000,
			want: []Range{{100000, 65536}},
		},
		{
			name:    "by numeric id",
			content: "1000:165536:65536\n",
			user:    "alice", id: 1000,
			want: []Range{{165536, 65536}},
		},
		{
			name:    "other users skipped",
			content: "bob:100000:65536\nalice:165536:65536\nalicex:1:2\nalic:3:4\n1001:5:6\n",
			user:    "alice", id: 1000,
			want: []Range{{165536, 65536}},
		},
		{
			name:    "several ranges in file order, name and id mixed",
			content: "alice:300000:10\n1000:100000:20\nalice:200000:30\n",
			user:    "alice", id: 1000,
			want: []Range{{300000, 10}, {100000, 20}, {200000, 30}},
		},
		{
			name:    "comments, blank lines, surrounding blanks and CRLF",
			content: "# subordinate ids\n\n   \n  alice:100000:65536  \r\n#alice:1:1\n\talice:200000:5\t\n",
			user:    "alice", id: 1000,
			want: []Range{{100000, 65536}, {200000, 5}},
		},
		{
			name: "malformed lines skipped",
			content: strings.Join([]string{
				"alice:100000",         // two fields
				"alice:100000:65536:1", // four fields
				"alice:x:65536",        // bad start
				"alice:100000:y",       // bad count
				"alice:-1:10",          // negative
				"alice:100000:0",       // empty range
				"alice:4294967295:2",   // past 2^32
				"alice:4294967296:1",   // start too big
				"alice: 100000:10",     // inner blank
				"alice:+5:10",          // sign
				"alice:7:7",            // the good one
			}, "\n"),
			user: "alice", id: 1000,
			want: []Range{{7, 7}},
		},
		{
			name:    "range ending at 2^32",
			content: "alice:4294901760:65536\n",
			user:    "alice", id: 1000,
			want: []Range{{4294901760, 65536}},
		},
		{
			name:    "no trailing newline",
			content: "alice:100000:65536",
			user:    "alice", id: 1000,
			want: []Range{{100000, 65536}},
		},
		{
			name:    "uid 0 by id",
			content: "root:1:2\n0:3:4\n",
			user:    "", id: 0,
			want: []Range{{3, 4}},
		},
		{
			name:    "nothing for the user",
			content: "bob:100000:65536\n",
			user:    "alice", id: 1000,
			want: nil,
		},
		{
			name:    "empty file",
			content: "",
			user:    "alice", id: 1000,
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSubIDs(strings.NewReader(tt.content), tt.user, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseSubIDs = %v, want %v", got, tt.want)
			}
		})
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseSubIDsReadError(t *testing.T) {
	_, err := ParseSubIDs(errReader{}, "alice", 1000)
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("ParseSubIDs(failing reader) error = %v, want it wrapped", err)
	}
}

func TestParseGetsubids(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want []Range
	}{
		{name: "one", out: "0: alice 100000 65536\n", want: []Range{{100000, 65536}}},
		{name: "several", out: "0: alice 100000 65536\n1: alice 300000 10\n", want: []Range{{100000, 65536}, {300000, 10}}},
		{name: "tabs and no newline", out: "0:\talice\t100000\t65536", want: []Range{{100000, 65536}}},
		{
			name: "malformed skipped",
			out:  "alice 100000 65536\n0 alice 100000 65536\n0: alice x 1\n0: alice 1 0\n0: alice 4294967295 2\n0: alice 1 2 3\nError: no subuid ranges\n2: alice 5 6\n",
			want: []Range{{5, 6}},
		},
		{name: "empty", out: "", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseGetsubids(tt.out); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseGetsubids(%q) = %v, want %v", tt.out, got, tt.want)
			}
		})
	}
}

func FuzzParseSubIDs(f *testing.F) {
	f.Add("alice:100000:65536\n1000:1:2\n# c\n", "alice", uint32(1000))
	f.Add("alice:4294967295:1\n:::\n", "", uint32(0))
	f.Fuzz(func(t *testing.T, content, user string, id uint32) {
		rs, err := ParseSubIDs(strings.NewReader(content), user, id)
		if err != nil {
			return // a line over the scanner's limit
		}
		for _, r := range rs {
			if r.Count == 0 || uint64(r.Start)+uint64(r.Count) > 1<<32 {
				t.Fatalf("ParseSubIDs(%q) returned invalid range %v", content, r)
			}
		}
	})
}

func TestParsePasswdName(t *testing.T) {
	const passwd = `root:x:0:0:root:/root:/bin/bash
# comment:x:1000:1000::/:/bin/sh
broken:x
alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash
alice2:x:1000:1000::/home/alice2:/bin/sh
bob:x:10010:100::/home/bob:/bin/sh
`
	for _, c := range []struct {
		id   uint32
		want string
	}{{0, "root"}, {1000, "alice"}, {10010, "bob"}, {1001, ""}, {100, ""}} {
		if got := ParsePasswdName(strings.NewReader(passwd), c.id); got != c.want {
			t.Errorf("ParsePasswdName(%d) = %q, want %q", c.id, got, c.want)
		}
	}
}
