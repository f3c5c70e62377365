//go:build !(linux && (amd64 || arm64))

package nofile

// Elsewhere the start limit is not known (OK is false).
var (
	StartSoft, StartHard uint64
	OK                   bool
)
