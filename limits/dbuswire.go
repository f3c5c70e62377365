package limits

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The D-Bus wire format, the part the conversation with systemd needs
// (https://dbus.freedesktop.org/doc/dbus-specification.html, "Message
// Protocol"): messages are written little-endian and read in either byte
// order; the decoder takes any signature of basic types, arrays, structs,
// dict entries and variants.
//
// Our own rather than github.com/godbus/dbus: that package brings net,
// net/url and os/user into the binary, whose initialisation every sandbox
// process pays at start (about 1 ms each, measured with `sandbox --version`),
// for a handful of method calls made only with --memory and friends.

// Message types.
const (
	msgMethodCall   = 1
	msgMethodReturn = 2
	msgError        = 3
	msgSignal       = 4
)

// Header field codes.
const (
	fieldPath        = 1
	fieldInterface   = 2
	fieldMember      = 3
	fieldErrorName   = 4
	fieldReplySerial = 5
	fieldDestination = 6
	fieldSender      = 7
	fieldSignature   = 8
)

// maxMessage is the longest message the specification allows (128 MiB);
// anything longer is a broken stream.
const maxMessage = 128 << 20

// objectPath is a D-Bus object path (type "o"), told apart from a string.
type objectPath string

// signature is a D-Bus type signature (type "g").
type signature string

// message is one D-Bus message.
type message struct {
	Type        byte
	Flags       byte
	Serial      uint32
	Path        objectPath
	Interface   string
	Member      string
	ErrorName   string
	ReplySerial uint32
	Destination string
	Sender      string
	Signature   signature
	Body        []any
}

// encoder appends values in the wire format. Alignment is from the start of
// the buffer, which must itself start 8-aligned in the message (the header
// and the body both do).
type encoder struct{ b []byte }

func (e *encoder) align(n int) {
	for len(e.b)%n != 0 {
		e.b = append(e.b, 0)
	}
}

func (e *encoder) u32(v uint32) {
	e.align(4)
	e.b = binary.LittleEndian.AppendUint32(e.b, v)
}

func (e *encoder) str(s string) {
	e.u32(uint32(len(s)))
	e.b = append(e.b, s...)
	e.b = append(e.b, 0)
}

func (e *encoder) sig(s string) {
	e.b = append(e.b, byte(len(s)))
	e.b = append(e.b, s...)
	e.b = append(e.b, 0)
}

// array writes an array whose elements f appends, aligned to elemAlign.
func (e *encoder) array(elemAlign int, f func()) {
	e.align(4)
	at := len(e.b)
	e.u32(0)
	e.align(elemAlign)
	start := len(e.b)
	f()
	binary.LittleEndian.PutUint32(e.b[at:], uint32(len(e.b)-start))
}

// value appends v, whose Go type gives its D-Bus type (see typeOf).
func (e *encoder) value(v any) error {
	switch x := v.(type) {
	case byte:
		e.b = append(e.b, x)
	case bool:
		b := uint32(0)
		if x {
			b = 1
		}
		e.u32(b)
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case uint64:
		e.align(8)
		e.b = binary.LittleEndian.AppendUint64(e.b, x)
	case int64:
		e.align(8)
		e.b = binary.LittleEndian.AppendUint64(e.b, uint64(x))
	case string:
		e.str(x)
	case objectPath:
		e.str(string(x))
	case signature:
		e.sig(string(x))
	case []uint32:
		e.array(4, func() {
			for _, u := range x {
				e.u32(u)
			}
		})
	case []string:
		e.array(4, func() {
			for _, s := range x {
				e.str(s)
			}
		})
	case variant:
		t, err := typeOf(x.v)
		if err != nil {
			return err
		}
		e.sig(t)
		return e.value(x.v)
	case []unitProperty:
		var err error
		e.array(8, func() {
			for _, p := range x {
				e.align(8)
				e.str(p.Name)
				if err == nil {
					err = e.value(variant{p.Value})
				}
			}
		})
		return err
	case []auxUnit:
		if len(x) > 0 {
			return errors.New("d-bus: auxiliary units are not supported")
		}
		e.array(8, func() {})
	default:
		return fmt.Errorf("d-bus: cannot encode %T", v)
	}
	return nil
}

// variant is a value written with its own signature (type "v").
type variant struct{ v any }

// typeOf is the D-Bus signature of the Go values the encoder takes.
func typeOf(v any) (string, error) {
	switch v.(type) {
	case byte:
		return "y", nil
	case bool:
		return "b", nil
	case uint32:
		return "u", nil
	case int32:
		return "i", nil
	case uint64:
		return "t", nil
	case int64:
		return "x", nil
	case string:
		return "s", nil
	case objectPath:
		return "o", nil
	case signature:
		return "g", nil
	case []uint32:
		return "au", nil
	case []string:
		return "as", nil
	case variant:
		return "v", nil
	case []unitProperty:
		return "a(sv)", nil
	case []auxUnit:
		return "a(sa(sv))", nil
	}
	return "", fmt.Errorf("d-bus: no type for %T", v)
}

// encodeMessage gives m in the wire format, its Signature from its Body.
func encodeMessage(m *message) ([]byte, error) {
	var sig string
	body := encoder{}
	for _, v := range m.Body {
		t, err := typeOf(v)
		if err != nil {
			return nil, err
		}
		sig += t
		if err := body.value(v); err != nil {
			return nil, err
		}
	}
	type field struct {
		code byte
		v    any
	}
	var fields []field
	add := func(code byte, v any, set bool) {
		if set {
			fields = append(fields, field{code, v})
		}
	}
	add(fieldPath, m.Path, m.Path != "")
	add(fieldInterface, m.Interface, m.Interface != "")
	add(fieldMember, m.Member, m.Member != "")
	add(fieldErrorName, m.ErrorName, m.ErrorName != "")
	add(fieldReplySerial, m.ReplySerial, m.ReplySerial != 0)
	add(fieldDestination, m.Destination, m.Destination != "")
	add(fieldSender, m.Sender, m.Sender != "")
	add(fieldSignature, signature(sig), sig != "")

	h := encoder{b: []byte{'l', m.Type, m.Flags, 1}}
	h.u32(uint32(len(body.b)))
	h.u32(m.Serial)
	var err error
	h.array(8, func() {
		for _, f := range fields {
			h.align(8)
			h.b = append(h.b, f.code)
			if err == nil {
				err = h.value(variant{f.v})
			}
		}
	})
	if err != nil {
		return nil, err
	}
	h.align(8)
	return append(h.b, body.b...), nil
}

// headerLen is the length of a message's header with its padding, and of
// the whole message, from its first 16 bytes.
func headerLen(fixed []byte) (header, total int, err error) {
	order, err := byteOrder(fixed[0])
	if err != nil {
		return 0, 0, err
	}
	bodyLen := order.Uint32(fixed[4:])
	fieldsLen := order.Uint32(fixed[12:])
	if bodyLen > maxMessage || fieldsLen > maxMessage {
		return 0, 0, errors.New("d-bus: message too long")
	}
	header = 16 + int(fieldsLen)
	header += (8 - header%8) % 8
	total = header + int(bodyLen)
	if total > maxMessage {
		return 0, 0, errors.New("d-bus: message too long")
	}
	return header, total, nil
}

func byteOrder(b byte) (binary.ByteOrder, error) {
	switch b {
	case 'l':
		return binary.LittleEndian, nil
	case 'B':
		return binary.BigEndian, nil
	}
	return nil, fmt.Errorf("d-bus: bad byte order mark %q", b)
}

// decodeMessage parses one whole message.
func decodeMessage(b []byte) (*message, error) {
	if len(b) < 16 {
		return nil, errors.New("d-bus: short message")
	}
	header, total, err := headerLen(b)
	if err != nil {
		return nil, err
	}
	if len(b) != total {
		return nil, errors.New("d-bus: message length does not match its header")
	}
	order, _ := byteOrder(b[0])
	m := &message{Type: b[1], Flags: b[2], Serial: order.Uint32(b[8:])}
	if b[3] != 1 {
		return nil, fmt.Errorf("d-bus: protocol version %d", b[3])
	}
	d := &decoder{b: b[:header], order: order, off: 12}
	fields, err := d.value("a(yv)", 0)
	if err != nil {
		return nil, err
	}
	for _, f := range fields.([]any) {
		st := f.([]any)
		code, v := st[0].(byte), st[1]
		var ok bool
		switch code {
		case fieldPath:
			var s string
			s, ok = v.(string)
			m.Path = objectPath(s)
		case fieldInterface:
			m.Interface, ok = v.(string)
		case fieldMember:
			m.Member, ok = v.(string)
		case fieldErrorName:
			m.ErrorName, ok = v.(string)
		case fieldReplySerial:
			m.ReplySerial, ok = v.(uint32)
		case fieldDestination:
			m.Destination, ok = v.(string)
		case fieldSender:
			m.Sender, ok = v.(string)
		case fieldSignature:
			var s string
			s, ok = v.(string)
			m.Signature = signature(s)
		default:
			ok = true // unknown fields are ignored
		}
		if !ok {
			return nil, fmt.Errorf("d-bus: header field %d of the wrong type", code)
		}
	}
	// The body's alignment counts from its own start, which is 8-aligned
	// in the message.
	bd := &decoder{b: b[header:], order: order}
	rest := string(m.Signature)
	for rest != "" {
		t, r, err := nextType(rest)
		if err != nil {
			return nil, err
		}
		v, err := bd.value(t, 0)
		if err != nil {
			return nil, err
		}
		m.Body = append(m.Body, v)
		rest = r
	}
	return m, nil
}

// nextType splits the first complete type off sig.
func nextType(sig string) (string, string, error) {
	if sig == "" {
		return "", "", errors.New("d-bus: empty signature")
	}
	switch sig[0] {
	case 'a':
		t, _, err := nextType(sig[1:])
		if err != nil {
			return "", "", err
		}
		return sig[:1+len(t)], sig[1+len(t):], nil
	case '(', '{':
		closer := byte(')')
		if sig[0] == '{' {
			closer = '}'
		}
		i := 1
		for i < len(sig) && sig[i] != closer {
			t, _, err := nextType(sig[i:])
			if err != nil {
				return "", "", err
			}
			i += len(t)
		}
		if i >= len(sig) || i == 1 {
			return "", "", fmt.Errorf("d-bus: bad signature %q", sig)
		}
		return sig[:i+1], sig[i+1:], nil
	case 'y', 'b', 'n', 'q', 'i', 'u', 'x', 't', 'd', 's', 'o', 'g', 'v', 'h':
		return sig[:1], sig[1:], nil
	}
	return "", "", fmt.Errorf("d-bus: bad signature %q", sig)
}

// decoder reads values from b, aligned from b's start.
type decoder struct {
	b     []byte
	order binary.ByteOrder
	off   int
}

var errShort = errors.New("d-bus: message ends early")

func (d *decoder) align(n int) error {
	d.off += (n - d.off%n) % n
	if d.off > len(d.b) {
		return errShort
	}
	return nil
}

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || d.off+n > len(d.b) {
		return nil, errShort
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p, nil
}

func (d *decoder) fixed(size int) ([]byte, error) {
	if err := d.align(size); err != nil {
		return nil, err
	}
	return d.take(size)
}

func (d *decoder) u32() (uint32, error) {
	p, err := d.fixed(4)
	if err != nil {
		return 0, err
	}
	return d.order.Uint32(p), nil
}

// text reads a string, an object path (both u32 length) or, with a byte
// length, a signature; all end in a NUL.
func (d *decoder) text(byteLen bool) (string, error) {
	var n int
	if byteLen {
		p, err := d.take(1)
		if err != nil {
			return "", err
		}
		n = int(p[0])
	} else {
		u, err := d.u32()
		if err != nil {
			return "", err
		}
		if u > maxMessage {
			return "", errShort
		}
		n = int(u)
	}
	p, err := d.take(n + 1)
	if err != nil {
		return "", err
	}
	if p[n] != 0 {
		return "", errors.New("d-bus: string not terminated")
	}
	return string(p[:n]), nil
}

// maxDepth bounds nesting (the specification allows 32 levels of arrays
// and 32 of structs).
const maxDepth = 64

// value reads one value of the complete type t. Integers come back as
// their Go types, strings, object paths and signatures as string, arrays as
// []any (of dict entries too), structs and dict entries as []any.
func (d *decoder) value(t string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("d-bus: values nested too deep")
	}
	switch t[0] {
	case 'y':
		p, err := d.take(1)
		if err != nil {
			return nil, err
		}
		return p[0], nil
	case 'b':
		u, err := d.u32()
		return u != 0, err
	case 'n', 'q':
		p, err := d.fixed(2)
		if err != nil {
			return nil, err
		}
		if t[0] == 'n' {
			return int16(d.order.Uint16(p)), nil
		}
		return d.order.Uint16(p), nil
	case 'i':
		u, err := d.u32()
		return int32(u), err
	case 'u', 'h':
		return d.u32()
	case 'x', 't', 'd':
		p, err := d.fixed(8)
		if err != nil {
			return nil, err
		}
		u := d.order.Uint64(p)
		switch t[0] {
		case 'x':
			return int64(u), nil
		case 'd':
			return math.Float64frombits(u), nil
		}
		return u, nil
	case 's', 'o':
		return d.text(false)
	case 'g':
		return d.text(true)
	case 'v':
		s, err := d.text(true)
		if err != nil {
			return nil, err
		}
		vt, rest, err := nextType(s)
		if err != nil || rest != "" {
			return nil, fmt.Errorf("d-bus: bad variant signature %q", s)
		}
		return d.value(vt, depth+1)
	case 'a':
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		if err := d.align(typeAlign(t[1])); err != nil {
			return nil, err
		}
		end := d.off + int(n)
		if n > maxMessage || end > len(d.b) {
			return nil, errShort
		}
		out := []any{}
		for d.off < end {
			v, err := d.value(t[1:], depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		if d.off != end {
			return nil, errors.New("d-bus: array length does not match its elements")
		}
		return out, nil
	case '(', '{':
		if err := d.align(8); err != nil {
			return nil, err
		}
		var out []any
		rest := t[1 : len(t)-1]
		for rest != "" {
			et, r, err := nextType(rest)
			if err != nil {
				return nil, err
			}
			v, err := d.value(et, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			rest = r
		}
		return out, nil
	}
	return nil, fmt.Errorf("d-bus: cannot decode type %q", t)
}

// typeAlign is the alignment of values whose type starts with c.
func typeAlign(c byte) int {
	switch c {
	case 'y', 'g', 'v':
		return 1
	case 'n', 'q':
		return 2
	case 'x', 't', 'd', '(', '{':
		return 8
	}
	return 4
}
