package errbody

import (
	"encoding/json"
	"testing"
)

func TestNew(t *testing.T) {
	for _, tt := range []struct {
		status    int
		code, msg string
	}{
		{413, "payload_too_large", "request body exceeds the limit"},
		{400, "bad_request", "quotes \" and \\ and a newline\n and \x00"},
	} {
		b := New(tt.status, tt.code, tt.msg)
		if b[len(b)-1] != '\n' {
			t.Errorf("%q does not end with a newline", b)
		}
		var got struct {
			Status int    `json:"status"`
			Code   string `json:"code"`
			Error  string `json:"error"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		if got.Status != tt.status || got.Code != tt.code || got.Error != tt.msg {
			t.Errorf("New(%d, %q, %q) decodes to %+v", tt.status, tt.code, tt.msg, got)
		}
	}
}
