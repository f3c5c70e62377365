package netstack

import (
	"bytes"
	"encoding/binary"
)

// servfail builds a SERVFAIL response to query q (RFC 1035 4.1): q's header
// and question, QR and RA set, no records. nil if q is not a query with one
// question.
func servfail(q []byte) []byte {
	const hdrLen = 12
	if len(q) < hdrLen || q[2]&0x80 != 0 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil
	}
	end := hdrLen
	for {
		if end >= len(q) {
			return nil
		}
		l := int(q[end])
		if l == 0 {
			break
		}
		if l&0xc0 != 0 { // compression pointers do not occur in queries
			return nil
		}
		end += 1 + l
	}
	end += 1 + 4 // root label, QTYPE, QCLASS
	if end > len(q) {
		return nil
	}
	r := bytes.Clone(q[:end])
	r[2] = 0x80 | q[2]&0x79 // QR, keep opcode and RD; clear AA and TC
	r[3] = 0x80 | 2         // RA, RCODE=SERVFAIL
	clear(r[6:hdrLen])      // ANCOUNT, NSCOUNT, ARCOUNT
	return r
}
