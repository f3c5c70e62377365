package spec

import (
	"errors"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
)

// fuzzSeeds are command lines for FuzzParse, NUL-separated, with the
// content of --args fd 3.
var fuzzSeeds = []struct{ args, file string }{
	{"true", ""},
	{"--ro-bind\x00/\x00/\x00--proc\x00/proc\x00--dev\x00/dev\x00sh", ""},
	{"--unshare-all\x00--share-net\x00--hostname\x00h\x00true", ""},
	{"--share-net\x00--unshare-all\x00--as-pid-1\x00true", ""},
	{"--perms\x000700\x00--size\x000x100\x00--tmpfs\x00/t\x00true", ""},
	{"--perms\x00999\x00--dir\x00/d", ""},
	{"--size\x0018446744073709551616\x00--tmpfs\x00/t\x00true", ""},
	{"--overlay-src\x00/a\x00--overlay-src\x00/b\x00--overlay\x00/rw\x00/w\x00/m\x00true", ""},
	{"--overlay-src\x00/a\x00--ro-overlay\x00/m\x00true", ""},
	{"--overlay-src", ""},
	{"--args\x003\x00--dir\x00/c\x00true", "--dir\x00/b\x00cmd\x00--dir\x00/x"},
	{"--args\x003\x00true", "--args\x003"},
	{"--args\x003\x00true", "--setenv\x00FOO"},
	{"--setenv\x00A\x001\x00--unsetenv\x00B\x00--clearenv\x00true", ""},
	{"--cap-add\x00kill\x00--cap-drop\x00ALL\x00--cap-add\x005\x00true", ""},
	{"--uid\x000\x00--gid\x000\x00--unshare-user\x00true", ""},
	{"--userns-block-fd\x003\x00--unshare-user\x00--info-fd\x004\x00true", ""},
	{"--bind\x00/a\x00cmd", ""},
	{"--ro-bind\x00/usr\x00--\x00cmd", ""},
	{"--chdir=/x\x00--bind=/a\x00cmd", ""},
	{"--setenv=A\x00B\x00cmd", ""},
	{"--file\x00x\x00/d\x00true", ""},
	{"--bind-fd\x003\x00/d\x00--ro-bind-fd\x004\x00/e\x00true", ""},
	{"--lock-file\x00/l\x00--unshare-pid\x00--as-pid-1\x00true", ""},
	{"--chmod\x004755\x00/x\x00--symlink\x00\x00/s\x00true", ""},
	{"--\x00--dev-bind\x00/dev\x00/dev", ""},
	{"-\x00x", ""},
	{"--help", ""},
	{"--version\x00--foo", ""},
	{"--id-map\x00range\x00--verbose\x00--no-defaults\x00sh", ""},
	{"--tmpfs\x00tmp\x00sh", ""},
	{"--hostname\x00\x00--unshare-uts\x00true", ""},
}

func splitArgs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}

// FuzzParse parses arbitrary command lines in both personalities. Parse
// must never panic; an error must be a *UsageError; a Spec must pass
// Validate, survive ApplyDefaults, and round-trip through Encode/Decode.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s.args, s.file, false, false)
		f.Add(s.args, s.file, true, true)
	}
	f.Fuzz(func(t *testing.T, argv, file string, sandbox, root bool) {
		p := Bwrap
		if sandbox {
			p = Sandbox
		}
		uid := 1000
		if root {
			uid = 0
		}
		args := splitArgs(argv)
		opt := Options{ReadArgs: fakeArgs(map[int]string{3: file}), RealUID: uid, RealGID: uid}
		s, action, err := Parse(p, args, opt)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("Parse(%q) error %T %v, want *UsageError", args, err, err)
			}
			if s != nil {
				t.Fatalf("Parse(%q) returned a Spec and an error", args)
			}
			if ue.Msg == "" && ue.Hint != "usage" {
				t.Fatalf("Parse(%q) error %+v has no message", args, ue)
			}
			return
		}
		if s == nil {
			t.Fatalf("Parse(%q) returned no Spec and no error", args)
		}
		if action != ActionRun {
			return
		}
		if len(s.Command) == 0 {
			t.Fatalf("Parse(%q) returned a Spec without a command", args)
		}
		if err := Validate(s, uid, uid); err != nil {
			t.Fatalf("Parse(%q) returned a Spec that fails Validate: %v", args, err)
		}
		checkOps(t, args, s)
		checkRoundTrip(t, args, s)

		ApplyDefaults(s, Host{Cwd: "/home/u/proj", Home: "/home/u", MergedUsr: map[string]string{"/bin": "usr/bin"}})
		if err := Validate(s, uid, uid); err != nil {
			t.Fatalf("Parse(%q) + ApplyDefaults fails Validate: %v", args, err)
		}
		checkOps(t, args, s)
		checkRoundTrip(t, args, s)
	})
}

func checkOps(t *testing.T, args []string, s *Spec) {
	t.Helper()
	for _, op := range s.Ops {
		switch op.Kind {
		case OpBindFD, OpROBindFD, OpFile, OpBindData, OpROBindData:
			if op.FD < 0 {
				t.Fatalf("Parse(%q): %s without an fd", args, op.Kind)
			}
		default:
			if op.FD != NoFD {
				t.Fatalf("Parse(%q): %s with fd %d", args, op.Kind, op.FD)
			}
		}
		if op.Perms < -1 || op.Perms > 07777 {
			t.Fatalf("Parse(%q): %s with perms %o", args, op.Kind, op.Perms)
		}
		if op.Size < 0 || (op.Size != 0 && op.Kind != OpTmpfs) {
			t.Fatalf("Parse(%q): %s with size %d", args, op.Kind, op.Size)
		}
		overlay := op.Kind == OpOverlay || op.Kind == OpTmpOverlay || op.Kind == OpROOverlay
		if overlay != (len(op.Lower) > 0) {
			t.Fatalf("Parse(%q): %s with lower layers %q", args, op.Kind, op.Lower)
		}
	}
}

func checkRoundTrip(t *testing.T, args []string, s *Spec) {
	t.Helper()
	d := encodeDecode(t, s)
	want := *s
	want.Warnings = nil
	if !reflect.DeepEqual(d, &want) {
		t.Fatalf("Parse(%q): round trip\n got %s\nwant %s", args, specJSON(d), specJSON(&want))
	}
}

// TestEncodeNonUTF8 round-trips arguments that are not UTF-8: Linux paths
// and argv are bytes, and the program must get them unchanged.
func TestEncodeNonUTF8(t *testing.T) {
	s, _, err := Parse(Sandbox, []string{"--ro-bind", "/data/\xff", "--setenv", "K", "v\xfe", "--", "cat", "/data/\xff/caf\xe9"}, Options{RealUID: 1000, RealGID: 1000})
	if err != nil {
		t.Fatal(err)
	}
	d := encodeDecode(t, s)
	if !reflect.DeepEqual(d.Command, s.Command) || !reflect.DeepEqual(d.Ops, s.Ops) || !reflect.DeepEqual(d.Env, s.Env) {
		t.Fatalf("Encode/Decode mangle non-UTF-8 strings: command %q -> %q, ops %q -> %q",
			s.Command, d.Command, opStrings(s.Ops), opStrings(d.Ops))
	}
}

// strtoullModel is C's strtoull(s, &end, 0) with bubblewrap's checks:
// it returns the value, whether s is a whole number, and whether it
// overflowed (ERANGE).
func strtoullModel(s string) (v *big.Int, ok, erange bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return nil, false, false
	}
	digits, base := s, 10
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") && isHexDigit(s[2]):
		digits, base = s[2:], 16
	case s[0] == '0':
		digits, base = s, 8
	}
	v = new(big.Int)
	for i := 0; i < len(digits); i++ {
		d := digitValue(digits[i])
		if d < 0 || d >= base {
			return nil, false, false // trailing junk
		}
		v.Mul(v, big.NewInt(int64(base)))
		v.Add(v, big.NewInt(int64(d)))
	}
	return v, true, v.Cmp(new(big.Int).SetUint64(math.MaxUint64)) > 0
}

func isHexDigit(c byte) bool { return digitValue(c) >= 0 && digitValue(c) < 16 }

func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		name    string
		s       string
		plain   bool
		want    int64
		wantErr bool
		tooBig  bool
	}{
		{name: "decimal", s: "1048576", plain: true, want: 1 << 20},
		{name: "hex", s: "0x1000", plain: true, want: 4096},
		{name: "hex upper", s: "0XfF", plain: true, want: 255},
		{name: "octal", s: "0755", plain: true, want: 0755},
		{name: "max", s: "9223372036854775807", plain: true, want: math.MaxInt64},
		{name: "max+1", s: "9223372036854775808", plain: true, wantErr: true, tooBig: true},
		{name: "2^64-1", s: "18446744073709551615", plain: true, wantErr: true, tooBig: true},
		{name: "zero", s: "0", plain: true, wantErr: true},
		{name: "zero hex", s: "0x0", plain: true, wantErr: true},
		{name: "bare 0x", s: "0x", plain: true, wantErr: true},
		{name: "bad octal", s: "09", plain: true, wantErr: true},
		{name: "unit refused", s: "1K", plain: true, wantErr: true},
		{name: "empty", s: "", plain: true, wantErr: true},
		{name: "sign", s: "+1", plain: true, wantErr: true},
		{name: "space", s: " 1", plain: true, wantErr: true},
		{name: "underscore", s: "1_000", plain: true, wantErr: true},
		{name: "units: bytes", s: "4096", want: 4096},
		{name: "units: K", s: "4K", want: 4 << 10},
		{name: "units: k", s: "4k", want: 4 << 10},
		{name: "units: KiB", s: "4KiB", want: 4 << 10},
		{name: "units: MB", s: "64MB", want: 64 << 20},
		{name: "units: G", s: "1G", want: 1 << 30},
		{name: "units: T", s: "2T", want: 2 << 40},
		{name: "units: leading zeros are decimal", s: "010", want: 10},
		{name: "units: max T", s: "8388607T", want: 8388607 << 40},
		{name: "units: too big", s: "8388608T", wantErr: true, tooBig: true},
		{name: "units: zero", s: "0M", wantErr: true},
		{name: "units: unit only", s: "M", wantErr: true},
		{name: "units: bad unit", s: "1P", wantErr: true},
		{name: "units: hex refused", s: "0x10", wantErr: true},
		{name: "units: fraction", s: "1.5G", wantErr: true},
		{name: "units: negative", s: "-1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSize(tt.s, tt.plain)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseSize(%q, %v) = %d, %v; want error %v", tt.s, tt.plain, got, err, tt.wantErr)
			}
			if err != nil {
				if (err == errSizeTooLarge) != tt.tooBig {
					t.Errorf("ParseSize(%q, %v) error %v, want too-large %v", tt.s, tt.plain, err, tt.tooBig)
				}
				return
			}
			if got != tt.want {
				t.Errorf("ParseSize(%q, %v) = %d, want %d", tt.s, tt.plain, got, tt.want)
			}
		})
	}
}

// FuzzParseSize checks ParseSize against a model of bubblewrap's
// strtoull(s, 0) checks (plain) and the unit rules.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1", "0", "0x10", "0X", "0x", "010", "08", "9223372036854775807", "9223372036854775808",
		"18446744073709551616", "4K", "4KiB", "64MB", "1G", "8388608T", "1_0", " 1", "+1", "1e3", "0b1", "0o7", "M", "1iB"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, plain bool) {
		n, err := ParseSize(s, plain)
		if err == nil && n <= 0 {
			t.Fatalf("ParseSize(%q, %v) = %d, want > 0", s, plain, n)
		}
		if !plain {
			if err == nil && (s == "" || s[0] < '0' || s[0] > '9') {
				t.Fatalf("ParseSize(%q, false) = %d, want an error for a non-digit start", s, n)
			}
			return
		}
		v, ok, erange := strtoullModel(s)
		switch {
		case !ok || v.Sign() == 0:
			if err == nil || err == errSizeTooLarge {
				t.Fatalf("ParseSize(%q, true) = %d, %v; bubblewrap: not a non-zero number", s, n, err)
			}
		case erange:
			// bubblewrap says "takes a non-zero number of bytes" here; see
			// TestParseBwrapSizeOverflow. Only require an error.
			if err == nil {
				t.Fatalf("ParseSize(%q, true) = %d, want an error (ERANGE)", s, n)
			}
		case v.Cmp(big.NewInt(math.MaxInt64)) > 0:
			if err != errSizeTooLarge {
				t.Fatalf("ParseSize(%q, true) = %d, %v; want too large", s, n, err)
			}
		default:
			if err != nil || n != v.Int64() {
				t.Fatalf("ParseSize(%q, true) = %d, %v; want %s", s, n, err, v)
			}
		}
	})
}
