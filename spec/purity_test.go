package spec

import (
	"go/build"
	goparser "go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// bannedImports are standard packages the spec package must not use: it is
// pure (no system calls, no files, no /proc) so that every command-line
// rule is a table test.
var bannedImports = map[string]string{
	"os":        "file and process access",
	"os/exec":   "runs programs",
	"os/user":   "reads /etc/passwd",
	"os/signal": "signals",
	"io/ioutil": "file access",
	"syscall":   "system calls",
	"unsafe":    "unsafe",
	"C":         "cgo",
}

// TestPurity parses the package's non-test files and fails on an import
// outside the standard library or one of bannedImports.
func TestPurity(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := goparser.ParseFile(fset, name, nil, goparser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if why, bad := bannedImports[path]; bad {
				t.Errorf("%s imports %q (%s): package spec must stay pure", fset.Position(imp.Pos()), path, why)
				continue
			}
			if !isStdlib(path) {
				t.Errorf("%s imports %q, which is not in the standard library: package spec uses only the standard library", fset.Position(imp.Pos()), path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no non-test Go files found")
	}
}

// isStdlib reports whether path is a package of the Go distribution (it
// exists under GOROOT/src; golang.org/x/... and this module's packages do
// not).
func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	if strings.Contains(first, ".") || path == "sandbox" || strings.HasPrefix(path, "sandbox/") {
		return false
	}
	st, err := os.Stat(filepath.Join(build.Default.GOROOT, "src", path))
	return err == nil && st.IsDir()
}

func TestIsStdlib(t *testing.T) {
	for path, want := range map[string]bool{
		"strings": true, "encoding/json": true, "go/parser": true,
		"golang.org/x/sys/unix": false, "sandbox/userns": false, "sandbox": false, "nosuchpkg": false,
	} {
		if got := isStdlib(path); got != want {
			t.Errorf("isStdlib(%q) = %v, want %v", path, got, want)
		}
	}
}

// TestPackageDoc: the package has a doc comment.
func TestPackageDoc(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := goparser.ParseDir(fset, ".", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, goparser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		for _, f := range p.Files {
			if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package "+p.Name) {
				return
			}
		}
	}
	t.Error("no file has a \"Package spec ...\" doc comment")
}

// TestHelpListsEveryFlag: every option of a personality appears in its
// --help, and the other personality's own options do not.
func TestHelpListsEveryFlag(t *testing.T) {
	for _, p := range []Personality{Bwrap, Sandbox} {
		help := Help(p, "prog")
		var listed []string
		for _, line := range strings.Split(help, "\n") {
			if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(line, "    -") {
				listed = append(listed, f[0])
			}
		}
		for name, f := range flags() {
			in := slices.Contains(listed, name)
			switch {
			case (f.only == "" || f.only == p) && !in:
				t.Errorf("%s --help does not list %s", p, name)
			case f.only != "" && f.only != p && in:
				t.Errorf("%s --help lists %s, which only the %s personality has", p, name, f.only)
			}
		}
		seen := map[string]bool{}
		for _, name := range listed {
			if seen[name] {
				t.Errorf("%s --help lists %s twice", p, name)
			}
			seen[name] = true
			if _, ok := flags()[name]; !ok {
				t.Errorf("%s --help lists %s, which is not an option", p, name)
			}
		}
		if !strings.HasPrefix(help, "usage: prog [OPTIONS...] [--] COMMAND [ARGS...]\n") {
			t.Errorf("%s --help starts %q", p, strings.SplitN(help, "\n", 2)[0])
		}
	}
}

// TestHelpBwrapGolden compares the bwrap personality's --help with
// bubblewrap 0.11's (testdata/bwrap-help.golden).
func TestHelpBwrapGolden(t *testing.T) {
	want, err := os.ReadFile("testdata/bwrap-help.golden")
	if err != nil {
		t.Fatal(err)
	}
	got := Help(Bwrap, "bwrap")
	if got == string(want) {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	var diff []string
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			diff = append(diff, "line "+strconv.Itoa(i+1)+":\n   got "+strconv.Quote(g)+"\n  want "+strconv.Quote(w))
		}
	}
	t.Fatalf("bwrap --help differs from bubblewrap 0.11's in %d lines, first:\n%s", len(diff), strings.Join(diff[:min(5, len(diff))], "\n"))
}
