package spec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

var errSizeTooLarge = errors.New("size too large")

// ParseSize parses a byte count. With plain set (bwrap) the number is read
// as C's strtoull(s, 0) reads it (decimal, 0x hex, leading-0 octal); otherwise
// a decimal number may carry a binary unit K, M, G or T (with optional "i" and
// "B").
func ParseSize(s string, plain bool) (int64, error) {
	if s == "" || s[0] < '0' || s[0] > '9' || strings.ContainsRune(s, '_') {
		return 0, fmt.Errorf("invalid size %q: want a positive number of bytes, optionally with K, M, G or T", s)
	}
	num, mult, base := s, uint64(1), 10
	if plain {
		switch {
		case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
			num, base = s[2:], 16
		case len(s) > 1 && s[0] == '0':
			num, base = s[1:], 8
		}
	} else {
		u := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(s), "B"), "I")
		units := map[byte]uint64{'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}
		num = u
		if m, ok := units[u[len(u)-1]]; ok {
			mult, num = m, u[:len(u)-1]
		}
	}
	n, err := strconv.ParseUint(num, base, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid size %q: want a positive number of bytes, optionally with K, M, G or T", s)
	}
	if n > (1<<63-1)/mult {
		return 0, errSizeTooLarge
	}
	return int64(n * mult), nil
}
