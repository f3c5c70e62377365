package spec

import "strconv"

// cNumber reads a number the way C's strtol/strtoul read bubblewrap's
// arguments: leading blanks and one sign are allowed, then digits in base,
// and nothing may follow. neg reports a '-' sign.
func cNumber(s string, base int) (v uint64, neg, ok bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	digits := s[i:]
	if digits == "" || digits[0] == '+' || digits[0] == '-' {
		return 0, false, false
	}
	v, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		return 0, false, false
	}
	return v, neg, true
}

// cNonNegative is cNumber for an int that must be >= 0 and fit max.
func cNonNegative(s string, max uint64) (int, bool) {
	v, neg, ok := cNumber(s, 10)
	if !ok || (neg && v != 0) || v > max {
		return 0, false
	}
	return int(v), true
}
