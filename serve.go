package edgehog

import (
	"net/http"
	"strconv"
	"time"

	"github.com/edgehog/edgehog/internal/clientip"
	"github.com/edgehog/edgehog/internal/forward"
	"github.com/edgehog/edgehog/internal/route"
)

// serve handles one routed request: guard, forward, observe.
func (p *Proxy) serve(w http.ResponseWriter, r *http.Request, m route.Match) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	st := &forward.State{Match: m}
	st.ClientIP, _ = clientip.Peer(r.RemoteAddr)
	var body *countingBody
	if r.Body != nil && r.Body != http.NoBody {
		body = &countingBody{rc: r.Body}
		r.Body = body
	}
	defer func() {
		// Runs on the ErrAbortHandler panic of a broken response copy too.
		if p.access {
			p.logAccess(r, m, st, rec, body, start)
		}
	}()

	if r.Method == http.MethodConnect {
		forward.WriteError(rec, http.StatusMethodNotAllowed, forward.CodeMethod, "CONNECT is not supported")
		return
	}
	if limit := p.limits[m.Kind]; limit >= 0 {
		if r.ContentLength > limit {
			// Refused before a byte goes upstream.
			st.Code = forward.CodeTooLarge
			rec.Header().Set("Connection", "close")
			forward.WriteError(rec, http.StatusRequestEntityTooLarge, forward.CodeTooLarge,
				"request body of "+strconv.FormatInt(r.ContentLength, 10)+" bytes exceeds the limit of "+strconv.FormatInt(limit, 10)+" bytes for this endpoint")
			return
		}
		if body != nil {
			// Chunked bodies are counted as they stream.
			body.rc = http.MaxBytesReader(rec, body.rc, limit)
		}
	}
	p.fwd.Forward(rec, r, st)
}
