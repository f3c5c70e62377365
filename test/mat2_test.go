package test

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyPNG returns a 1x1 PNG carrying a tEXt "Comment" chunk.
func tinyPNG(comment string) []byte {
	chunk := func(typ string, data []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		b = append(b, typ...)
		b = append(b, data...)
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := []byte{0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0}
	// zlib stream of one scanline: filter 0 + one RGB pixel, stored block.
	raw := []byte{0, 255, 0, 0}
	z := []byte{0x78, 0x01, 1, byte(len(raw)), 0, ^byte(len(raw)), 0xff}
	z = append(z, raw...)
	var a, b uint32 = 1, 0
	for _, c := range raw {
		a = (a + uint32(c)) % 65521
		b = (b + a) % 65521
	}
	z = binary.BigEndian.AppendUint32(z, b<<16|a)
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, chunk("IHDR", ihdr)...)
	out = append(out, chunk("tEXt", append([]byte("Comment\x00"), comment...))...)
	out = append(out, chunk("IDAT", z)...)
	return append(out, chunk("IEND", nil)...)
}

// TestMat2ThroughBwrap runs Debian's mat2, a real bubblewrap caller, with our
// binary installed as "bwrap" first in PATH: mat2 runs exiftool through it
// with its full, unmodified argument set.
func TestMat2ThroughBwrap(t *testing.T) {
	requireHost(t, haveCmd("mat2") && haveCmd("exiftool"), "mat2 and exiftool are not installed (apt install mat2 libimage-exiftool-perl)")
	dir := workDir(t)
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	log := filepath.Join(dir, "bwrap.log")
	// A wrapper records mat2's arguments, then becomes our binary as "bwrap".
	wrapper := "#!/bin/bash\nprintf '%s\\n' \"$*\" >> " + log + "\nexec -a bwrap " + sandboxBin + " \"$@\"\n"
	os.WriteFile(filepath.Join(bin, "bwrap"), []byte(wrapper), 0o755)
	os.WriteFile(filepath.Join(dir, "a.png"), tinyPNG("secret-comment"), 0o644)
	env := []string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + dir}
	// Debian 12's mat2 0.13.1 inverts its --no-sandbox switch: with it, it
	// does use bwrap (its store_true sets "sandbox"). Newer releases
	// sandbox by default and ignore nothing here.
	r := runWith(t, runOpts{dir: dir, env: env}, "mat2", "--no-sandbox", "--show", "a.png")
	mustCode(t, r, 0)
	if !strings.Contains(r.stdout, "Comment: secret-comment") {
		t.Fatalf("mat2 --show did not read the metadata through bwrap:\n%s", r)
	}
	calls, _ := os.ReadFile(log)
	if !strings.Contains(string(calls), "--unshare-user-try") || !strings.Contains(string(calls), "exiftool") {
		t.Fatalf("mat2 did not call our bwrap with its arguments; log:\n%s", calls)
	}
	r = runWith(t, runOpts{dir: dir, env: env}, "mat2", "--no-sandbox", "a.png")
	mustCode(t, r, 0)
	r = runWith(t, runOpts{dir: dir, env: env}, "mat2", "--no-sandbox", "--show", "a.cleaned.png")
	mustCode(t, r, 0)
	if strings.Contains(r.stdout, "secret-comment") {
		t.Fatalf("cleaned file still has the comment:\n%s", r)
	}
}
