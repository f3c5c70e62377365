package limits

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// busConn is a D-Bus connection over a unix socket: EXTERNAL
// authentication, method calls, and the signals that arrive meanwhile (see
// dbuswire.go for why not github.com/godbus/dbus).
type busConn struct {
	f      *os.File
	r      *bufio.Reader
	serial uint32
	// pending are the signals read while waiting for a method's reply.
	pending []*message
	stop    func() bool // ends the context's watch
}

// busError is an error reply: its name and its message.
type busError struct{ Name, Message string }

func (e *busError) Error() string {
	if e.Message == "" {
		return e.Name
	}
	return e.Message
}

// unixSocketPath takes the first unix socket (path= or abstract=) of a D-Bus
// server address ("unix:path=/run/user/1000/bus,guid=...", several
// separated by ';').
func unixSocketPath(address string) (string, error) {
	for _, a := range strings.Split(address, ";") {
		transport, params, ok := strings.Cut(a, ":")
		if !ok || transport != "unix" {
			continue
		}
		for _, kv := range strings.Split(params, ",") {
			k, v, _ := strings.Cut(kv, "=")
			v, err := unescapeAddress(v)
			if err != nil {
				return "", fmt.Errorf("d-bus address %q: %w", address, err)
			}
			switch k {
			case "path":
				return v, nil
			case "abstract":
				return "@" + v, nil
			}
		}
	}
	return "", fmt.Errorf("d-bus address %q: no unix socket path in it", address)
}

// unescapeAddress undoes the %XX escapes of a D-Bus address value.
func unescapeAddress(v string) (string, error) {
	if !strings.Contains(v, "%") {
		return v, nil
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '%' {
			b.WriteByte(v[i])
			continue
		}
		if i+2 >= len(v) {
			return "", errors.New("bad % escape")
		}
		x, err := hex.DecodeString(v[i+1 : i+3])
		if err != nil {
			return "", errors.New("bad % escape")
		}
		b.Write(x)
		i += 2
	}
	return b.String(), nil
}

// dialBus connects to bus and authenticates with the numeric uid (EXTERNAL,
// no user name lookup); on a bus daemon it also says Hello. ctx bounds every
// later exchange too, until Close.
func dialBus(ctx context.Context, bus Bus) (*busConn, error) {
	path, err := unixSocketPath(bus.Address)
	if err != nil {
		return nil, err
	}
	// Non-blocking: the file goes into the runtime's poller, which lets the
	// context end a read or write, and a connect to a server whose backlog
	// is full fails (EAGAIN) rather than waiting past the context.
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("connect to %s: %w", path, err)
	}
	c := &busConn{f: os.NewFile(uintptr(fd), path)}
	c.r = bufio.NewReader(c.f)
	// The context's end (its deadline too) ends any read or write at once:
	// the exchange's errors are then the context's (ioError).
	c.stop = context.AfterFunc(ctx, func() { c.f.SetDeadline(time.Unix(1, 0)) })
	if err := c.auth(); err != nil {
		c.Close()
		return nil, fmt.Errorf("d-bus authentication on %s: %w", path, err)
	}
	if !bus.Direct {
		if _, err := c.call(ctx, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello"); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// auth runs the EXTERNAL mechanism with the uid in decimal, hex-encoded.
func (c *busConn) auth() error {
	uid := hex.EncodeToString([]byte(strconv.Itoa(os.Getuid())))
	if _, err := c.f.Write([]byte("\x00AUTH EXTERNAL " + uid + "\r\n")); err != nil {
		return err
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "OK ") {
		return fmt.Errorf("refused: %s", strings.TrimSpace(line))
	}
	_, err = c.f.Write([]byte("BEGIN\r\n"))
	return err
}

// Close closes the connection.
func (c *busConn) Close() error {
	c.stop()
	return c.f.Close()
}

// call makes a method call and waits for its reply's body. An error reply
// is a *busError. Signals that arrive meanwhile are kept for nextSignal.
func (c *busConn) call(ctx context.Context, dest string, path objectPath, iface, member string, args ...any) ([]any, error) {
	c.serial++
	m := &message{Type: msgMethodCall, Serial: c.serial, Destination: dest, Path: path, Interface: iface, Member: member, Body: args}
	b, err := encodeMessage(m)
	if err != nil {
		return nil, err
	}
	if _, err := c.f.Write(b); err != nil {
		return nil, c.ioError(ctx, err)
	}
	for {
		r, err := c.read(ctx)
		if err != nil {
			return nil, err
		}
		switch {
		case r.Type == msgSignal:
			c.pending = append(c.pending, r)
		case r.ReplySerial != m.Serial:
		case r.Type == msgError:
			e := &busError{Name: r.ErrorName}
			if len(r.Body) > 0 {
				e.Message, _ = r.Body[0].(string)
			}
			return nil, e
		case r.Type == msgMethodReturn:
			return r.Body, nil
		}
	}
}

// nextSignal returns the next signal, kept or read.
func (c *busConn) nextSignal(ctx context.Context) (*message, error) {
	if len(c.pending) > 0 {
		m := c.pending[0]
		c.pending = c.pending[1:]
		return m, nil
	}
	for {
		m, err := c.read(ctx)
		if err != nil {
			return nil, err
		}
		if m.Type == msgSignal {
			return m, nil
		}
	}
}

// read reads one message.
func (c *busConn) read(ctx context.Context) (*message, error) {
	fixed, err := c.r.Peek(16)
	if err != nil {
		return nil, c.ioError(ctx, err)
	}
	_, total, err := headerLen(fixed)
	if err != nil {
		return nil, err
	}
	b := make([]byte, total)
	if _, err := io.ReadFull(c.r, b); err != nil {
		return nil, c.ioError(ctx, err)
	}
	return decodeMessage(b)
}

// ioError is the context's error when it ended the exchange.
func (c *busConn) ioError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, io.EOF) {
		return errors.New("the d-bus peer closed the connection")
	}
	return err
}
