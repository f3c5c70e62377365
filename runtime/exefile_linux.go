package runtime

import (
	"encoding/binary"
	"os"
)

// exeFileOffset returns where the n bytes this executable has at virtual
// address addr (a string in its read-only data, say) lie in its file, from
// the program headers of a 64-bit little-endian ELF file; ok is false when
// no loaded segment holds them from the file. The caller checks the bytes
// before trusting the answer (a position-independent build loads elsewhere).
func exeFileOffset(exe *os.File, addr uint64, n int) (off int64, ok bool) {
	var eh [64]byte
	if _, err := exe.ReadAt(eh[:], 0); err != nil || string(eh[:4]) != "\x7fELF" || eh[4] != 2 || eh[5] != 1 {
		return 0, false
	}
	le := binary.LittleEndian
	phoff, phentsize, phnum := int64(le.Uint64(eh[0x20:])), int(le.Uint16(eh[0x36:])), int(le.Uint16(eh[0x38:]))
	if phentsize < 56 || phnum == 0 || phnum > 256 {
		return 0, false
	}
	ph := make([]byte, phentsize*phnum)
	if _, err := exe.ReadAt(ph, phoff); err != nil {
		return 0, false
	}
	for i := range phnum {
		p := ph[i*phentsize:]
		const ptLoad = 1
		if le.Uint32(p) != ptLoad {
			continue
		}
		offset, vaddr, filesz := le.Uint64(p[8:]), le.Uint64(p[16:]), le.Uint64(p[32:])
		if addr >= vaddr && addr-vaddr+uint64(n) <= filesz {
			return int64(offset + addr - vaddr), true
		}
	}
	return 0, false
}

// sameBytes says whether exe holds want at off: its first and last bytes
// (up to 4 KiB each), enough to tell a wrong offset.
func sameBytes(exe *os.File, off int64, want string) bool {
	if len(want) == 0 {
		return false
	}
	k := min(len(want), 4096)
	b := make([]byte, k)
	for _, at := range []int{0, len(want) - k} {
		if _, err := exe.ReadAt(b, off+int64(at)); err != nil || string(b) != want[at:at+k] {
			return false
		}
	}
	return true
}
