// Package errbody builds the JSON body of the errors edgehog answers
// itself. The shape follows PostHog capture's error body (protocol.md
// §4.1): {"status":413,"code":"payload_too_large","error":"..."}.
package errbody

import (
	"encoding/json"
	"strconv"
)

// New returns the body for status, a machine-readable code and a message
// for people, newline-terminated. Any bytes in msg are escaped as JSON
// needs.
func New(status int, code, msg string) []byte {
	b := make([]byte, 0, 48+len(code)+len(msg))
	b = append(b, `{"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"code":`...)
	b = appendString(b, code)
	b = append(b, `,"error":`...)
	b = appendString(b, msg)
	return append(b, "}\n"...)
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	q, err := json.Marshal(s) // a string always marshals
	if err != nil {
		return append(b, `""`...)
	}
	return append(b, q...)
}
