package runtime

import (
	"encoding/binary"
	"fmt"
	"io"

	"sandbox/spec"
)

// Report is a failure sent from a stage inside the sandbox to the parent over
// the report pipe. The pipe is close-on-exec in the exec stage, so the parent
// reads EOF with no report exactly when the program was executed.
//
// It travels in the wire form (package spec), as the plan does: not JSON,
// whose package the binary would link for this alone.
type Report struct {
	// Msg is the sandbox personality's message, BwrapMsg bubblewrap's.
	Msg      string
	BwrapMsg string
	Hint     string
	// Exit is the sandbox personality's exit status for this failure.
	Exit int
}

// WriteReport sends one report.
func WriteReport(w io.Writer, r Report) error {
	b, err := spec.MarshalWire(&r)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// ReadReport reads the report, if any, until EOF. ok is false on a clean EOF.
func ReadReport(r io.Reader) (rep Report, ok bool, err error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return rep, false, err
	}
	if len(b) == 0 {
		return rep, false, nil
	}
	if err := spec.UnmarshalWire(b, &rep); err != nil {
		return rep, false, fmt.Errorf("bad report from the sandbox: %w", err)
	}
	return rep, true, nil
}

// writeFrame sends a length-prefixed message (the spec).
func writeFrame(w io.Writer, b []byte) error {
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(b)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

// readFrame reads one length-prefixed message.
func readFrame(r io.Reader) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := binary.LittleEndian.Uint32(n[:])
	if size > 64<<20 {
		return nil, fmt.Errorf("frame of %d bytes is too large", size)
	}
	b := make([]byte, size)
	_, err := io.ReadFull(r, b)
	return b, err
}
