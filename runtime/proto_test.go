package runtime

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReportRoundTrip(t *testing.T) {
	for _, r := range []Report{
		{Msg: "--bind /nope: no such file or directory", BwrapMsg: "Can't find source path /nope: No such file or directory", Hint: "check the path", Exit: ExitSetup},
		{Msg: "cannot execute", Exit: ExitCannotExec},
		{Msg: "quotes \" and\nnewlines\x00 and ünïcode", Exit: 127},
		{},
	} {
		var buf bytes.Buffer
		if err := WriteReport(&buf, r); err != nil {
			t.Fatal(err)
		}
		got, ok, err := ReadReport(&buf)
		if err != nil || !ok {
			t.Fatalf("ReadReport = %v, %v", ok, err)
		}
		if got != r {
			t.Errorf("round trip: got %+v, want %+v", got, r)
		}
	}
}

func TestReadReportEmpty(t *testing.T) {
	got, ok, err := ReadReport(strings.NewReader(""))
	if err != nil || ok || got != (Report{}) {
		t.Errorf("ReadReport(EOF) = %+v, %v, %v; want no report, no error", got, ok, err)
	}
}

func TestReadReportBad(t *testing.T) {
	_, ok, err := ReadReport(strings.NewReader("{not a report"))
	if err == nil || ok {
		t.Errorf("ReadReport(garbage) = %v, %v; want an error", ok, err)
	}
	boom := errors.New("read failed")
	_, ok, err = ReadReport(io.MultiReader(strings.NewReader(`{"msg":`), errReader{boom}))
	if !errors.Is(err, boom) || ok {
		t.Errorf("ReadReport(failing reader) = %v, %v; want the read error", ok, err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("pipe closed") }

func TestWriteReportError(t *testing.T) {
	if err := WriteReport(errWriter{}, Report{Msg: "x"}); err == nil {
		t.Error("WriteReport to a failing writer: want an error")
	}
}

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	msgs := [][]byte{[]byte(`{"personality":"bwrap"}`), {}, bytes.Repeat([]byte{0xff, 0}, 100000)}
	for _, m := range msgs {
		if err := writeFrame(&buf, m); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range msgs {
		got, err := readFrame(&buf)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("frame %d: got %d bytes, want %d", i, len(got), len(want))
		}
	}
	if _, err := readFrame(&buf); err != io.EOF {
		t.Errorf("readFrame after the last frame = %v, want io.EOF", err)
	}
}

func TestFrameLimits(t *testing.T) {
	hdr := func(n uint32) []byte { return binary.LittleEndian.AppendUint32(nil, n) }
	// 64 MiB is the largest frame accepted.
	if _, err := readFrame(bytes.NewReader(hdr(64<<20 + 1))); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("readFrame(64 MiB + 1) = %v, want too large", err)
	}
	if _, err := readFrame(bytes.NewReader(hdr(0xffffffff))); err == nil {
		t.Error("readFrame(4 GiB) accepted")
	}
	// A frame of exactly 64 MiB is read (and a short body is an error).
	if _, err := readFrame(bytes.NewReader(append(hdr(64<<20), make([]byte, 64<<20)...))); err != nil {
		t.Errorf("readFrame(64 MiB) = %v", err)
	}
	if _, err := readFrame(bytes.NewReader(append(hdr(10), "short"...))); err != io.ErrUnexpectedEOF {
		t.Errorf("readFrame(truncated body) = %v, want io.ErrUnexpectedEOF", err)
	}
	if _, err := readFrame(bytes.NewReader([]byte{1, 0})); err != io.ErrUnexpectedEOF {
		t.Errorf("readFrame(truncated header) = %v, want io.ErrUnexpectedEOF", err)
	}
	if err := writeFrame(errWriter{}, []byte("x")); err == nil {
		t.Error("writeFrame to a failing writer: want an error")
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{3, 0, 0, 0, 'a', 'b', 'c'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := readFrame(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(b) < 4 || len(got) != int(binary.LittleEndian.Uint32(b)) || !bytes.Equal(got, b[4:4+len(got)]) {
			t.Fatalf("readFrame(%x) = %x", b, got)
		}
	})
}
