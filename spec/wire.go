package spec

import (
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
)

// The wire form is how the parent hands the spec (and the runtime its plan)
// to the stages: a compact binary walk of the value's exported fields in
// declaration order, both sides being the same binary. It replaced gob,
// whose package initialisation alone cost about 1-2 ms in each of the three
// processes of every sandbox start. Strings are kept byte for byte (paths,
// arguments and environment need not be UTF-8), nil and empty slices stay
// apart, and a type that implements encoding.BinaryMarshaler (netip's) is
// written that way.
//
// Layout: bool one byte; signed integers zig-zag varints; unsigned integers
// and lengths uvarints; strings and byte slices a length then the bytes;
// slices a uvarint of length+1 (0 for nil) then the elements; pointers a
// byte (0 nil) then the element; structs their exported fields.

var (
	binMarshaler   = reflect.TypeFor[encoding.BinaryMarshaler]()
	binUnmarshaler = reflect.TypeFor[encoding.BinaryUnmarshaler]()
)

// MarshalWire encodes v (a pointer to a struct, or any supported value);
// UnmarshalWire decodes into the same type.
func MarshalWire(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, errors.New("wire: encode a nil pointer")
		}
		rv = rv.Elem()
	}
	return appendWire(nil, rv)
}

// UnmarshalWire decodes b into v, which must be a non-nil pointer, and
// refuses trailing bytes.
func UnmarshalWire(b []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("wire: decode into a non-pointer")
	}
	d := &wireDecoder{b: b}
	if err := d.value(rv.Elem()); err != nil {
		return err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("wire: %d trailing bytes", len(d.b))
	}
	return nil
}

func appendWire(b []byte, v reflect.Value) ([]byte, error) {
	if v.Kind() != reflect.Pointer && v.Type().Implements(binMarshaler) {
		data, err := v.Interface().(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return nil, err
		}
		b = binary.AppendUvarint(b, uint64(len(data)))
		return append(b, data...), nil
	}
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			return append(b, 1), nil
		}
		return append(b, 0), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return binary.AppendVarint(b, v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return binary.AppendUvarint(b, v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return binary.AppendUvarint(b, math.Float64bits(v.Float())), nil
	case reflect.String:
		b = binary.AppendUvarint(b, uint64(v.Len()))
		return append(b, v.String()...), nil
	case reflect.Slice:
		if v.IsNil() {
			return append(b, 0), nil
		}
		b = binary.AppendUvarint(b, uint64(v.Len())+1)
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return append(b, v.Bytes()...), nil
		}
		return appendElems(b, v)
	case reflect.Array:
		return appendElems(b, v)
	case reflect.Pointer:
		if v.IsNil() {
			return append(b, 0), nil
		}
		return appendWire(append(b, 1), v.Elem())
	case reflect.Struct:
		var err error
		for i := 0; i < v.NumField(); i++ {
			if !v.Type().Field(i).IsExported() {
				continue
			}
			if b, err = appendWire(b, v.Field(i)); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, fmt.Errorf("wire: cannot encode %s", v.Type())
}

func appendElems(b []byte, v reflect.Value) ([]byte, error) {
	var err error
	for i := 0; i < v.Len(); i++ {
		if b, err = appendWire(b, v.Index(i)); err != nil {
			return nil, err
		}
	}
	return b, nil
}

type wireDecoder struct{ b []byte }

var errWireShort = errors.New("wire: message too short")

func (d *wireDecoder) uvarint() (uint64, error) {
	n, k := binary.Uvarint(d.b)
	if k <= 0 {
		return 0, errWireShort
	}
	d.b = d.b[k:]
	return n, nil
}

func (d *wireDecoder) varint() (int64, error) {
	n, k := binary.Varint(d.b)
	if k <= 0 {
		return 0, errWireShort
	}
	d.b = d.b[k:]
	return n, nil
}

func (d *wireDecoder) bytes(n uint64) ([]byte, error) {
	if n > uint64(len(d.b)) {
		return nil, errWireShort
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out, nil
}

// length reads a count of elements that each take at least one byte, so a
// corrupt count cannot make us allocate more than the message holds.
func (d *wireDecoder) length(n uint64) (int, error) {
	if n > uint64(len(d.b)) {
		return 0, errWireShort
	}
	return int(n), nil
}

func (d *wireDecoder) value(v reflect.Value) error {
	if v.Kind() != reflect.Pointer && reflect.PointerTo(v.Type()).Implements(binUnmarshaler) {
		n, err := d.uvarint()
		if err != nil {
			return err
		}
		data, err := d.bytes(n)
		if err != nil {
			return err
		}
		return v.Addr().Interface().(encoding.BinaryUnmarshaler).UnmarshalBinary(data)
	}
	switch v.Kind() {
	case reflect.Bool:
		x, err := d.bytes(1)
		if err != nil {
			return err
		}
		v.SetBool(x[0] != 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := d.varint()
		if err != nil {
			return err
		}
		if v.OverflowInt(n) {
			return fmt.Errorf("wire: %d overflows %s", n, v.Type())
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := d.uvarint()
		if err != nil {
			return err
		}
		if v.OverflowUint(n) {
			return fmt.Errorf("wire: %d overflows %s", n, v.Type())
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := d.uvarint()
		if err != nil {
			return err
		}
		v.SetFloat(math.Float64frombits(n))
	case reflect.String:
		n, err := d.uvarint()
		if err != nil {
			return err
		}
		s, err := d.bytes(n)
		if err != nil {
			return err
		}
		v.SetString(string(s))
	case reflect.Slice:
		n, err := d.uvarint()
		if err != nil || n == 0 {
			return err // n == 0: nil
		}
		l, err := d.length(n - 1)
		if err != nil {
			return err
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			s, _ := d.bytes(uint64(l))
			v.SetBytes(append([]byte{}, s...))
			return nil
		}
		v.Set(reflect.MakeSlice(v.Type(), l, l))
		for i := 0; i < l; i++ {
			if err := d.value(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if err := d.value(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Pointer:
		flag, err := d.bytes(1)
		if err != nil || flag[0] == 0 {
			return err
		}
		v.Set(reflect.New(v.Type().Elem()))
		return d.value(v.Elem())
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if !v.Type().Field(i).IsExported() {
				continue
			}
			if err := d.value(v.Field(i)); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("wire: cannot decode %s", v.Type())
	}
	return nil
}
