package main

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

func uintptrOf(b *byte) uintptr          { return uintptr(unsafe.Pointer(b)) }
func termiosPtr(t *unix.Termios) uintptr { return uintptr(unsafe.Pointer(t)) }
