package fakehog

import (
	"io"
	"net/http"
	"strconv"
	"time"
)

// Log key names, kept in one place (style.md habit 8).
const (
	logKeyComponent = "component"
	logKeyUpstream  = "upstream"
	logKeyMethod    = "method"
	logKeyPath      = "path"
	logKeyStatus    = "status"
	logKeyBytes     = "body_bytes"
	logKeyFaulted   = "faulted"
)

// reply is an answer computed before anything is written, so the request
// can be recorded before the client sees the response: a test that has its
// response in hand always finds the request in Requests.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func newReply(status int, contentType string, body []byte) reply {
	h := make(http.Header, 4)
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return reply{status: status, header: h, body: body}
}

func jsonReply(status int, body []byte) reply {
	return newReply(status, "application/json", body)
}

// write sends rep with an exact Content-Length. HEAD gets the headers of
// GET; 204 and 304 carry no body (RFC 9110 §15.3.5, §15.4.5).
func (rep reply) write(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for k, v := range rep.header {
		h[k] = v
	}
	noBody := rep.status == http.StatusNoContent || rep.status == http.StatusNotModified
	if !noBody {
		h.Set("Content-Length", strconv.Itoa(len(rep.body)))
	}
	w.WriteHeader(rep.status)
	if !noBody && r.Method != http.MethodHead {
		// A write error means the client left; there is nobody to tell.
		_, _ = w.Write(rep.body)
	}
}

// decodeResult is what a route learned from the payload, for the record.
type decodeResult struct {
	decoded []byte
	err     string
	events  []Event
}

// handler serves one listener: read the body, compute the answer, apply a
// fault, record, answer.
func (f *Fake) handler(upstream string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f.enter() {
			panic(http.ErrAbortHandler)
		}
		defer f.leave()

		recording := !f.opts.Bench
		var (
			in      inbound
			readErr error
			start   = time.Now()
		)
		if recording {
			buf := f.bufs.Get().(*[]byte)
			in, readErr = readBody(r.Body, f.opts.MaxRecordBody, r.ContentLength, *buf)
			f.bufs.Put(buf)
		} else {
			// Drain so the connection can be reused; the bytes do not matter.
			_, readErr = io.Copy(io.Discard, r.Body)
		}

		var rep reply
		var res decodeResult
		if readErr != nil {
			de := errDecoding("reading body: " + readErr.Error())
			rep, res.err = captureErrorReply(de), de.msg
		} else {
			rep, res = f.route(upstream, r, in, recording)
		}

		ft, faulted := f.faults.take(r.URL.Path)
		if faulted && ft.Status != 0 {
			rep = faultReply(ft)
		}
		addCORS(rep.header, r)
		if faulted {
			for k, v := range ft.Header {
				rep.header[k] = append([]string(nil), v...)
			}
		}

		var rec *Request
		if recording {
			rec = newRequest(upstream, r, in, res, faulted, start)
		}
		finish := func(status int) {
			if rec == nil {
				return
			}
			rec.Status = status
			f.rec.add(*rec)
			f.log.InfoContext(r.Context(), "request",
				logKeyUpstream, upstream, logKeyMethod, r.Method, logKeyPath, r.URL.Path,
				logKeyStatus, status, logKeyBytes, in.n, logKeyFaulted, faulted)
		}

		if faulted && ft.Delay > 0 && !f.sleep(r.Context(), ft.Delay) {
			// The client or the fake went away. Returning normally would
			// let net/http send an empty 200; abort the connection instead.
			finish(0)
			panic(http.ErrAbortHandler)
		}
		if faulted && ft.Reset {
			finish(0)
			resetConn(w)
			return
		}
		finish(rep.status)
		rep.write(w, r)
	})
}

// route computes the normal answer for a request. decode is false in Bench
// mode: the answer is the same, but payloads are not looked at.
func (f *Fake) route(upstream string, r *http.Request, in inbound, decode bool) (reply, decodeResult) {
	if r.Method == http.MethodOptions {
		return preflightReply(r), decodeResult{}
	}
	p := r.URL.Path
	if token, file, ok := parseArrayPath(p); ok {
		return f.remoteConfig(upstream, token, file), decodeResult{}
	}
	if upstream == UpstreamAssets {
		if isStaticPath(p) {
			return f.serveStatic(r), decodeResult{}
		}
		return assetsNotFound(), decodeResult{}
	}
	switch {
	case isCapturePath(p):
		return f.capture(r, in, decode)
	case isDefinitionsPath(p):
		return f.serveDefinitions(r), decodeResult{}
	case isFlagsPath(p):
		return f.serveFlags(r, in, decode, false)
	case isDecidePath(p):
		return f.serveFlags(r, in, decode, true)
	}
	if rep, ok := apiReply(p); ok {
		return rep, decodeResult{}
	}
	return apiNotFound(), decodeResult{}
}
