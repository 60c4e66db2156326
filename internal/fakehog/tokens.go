package fakehog

import (
	"encoding/json"
	"net/http"
	"slices"
)

// tokenKnown reports whether the decoded flags request carries a token
// Options.Tokens lists (always true when Tokens is nil).
func (f *Fake) tokenKnown(decoded []byte) bool {
	if f.opts.Tokens == nil {
		return true
	}
	var body struct {
		APIKey string `json:"api_key"`
		Token  string `json:"token"`
	}
	if json.Unmarshal(decoded, &body) != nil {
		return false
	}
	tok := body.APIKey
	if tok == "" {
		tok = body.Token
	}
	return slices.Contains(f.opts.Tokens, tok)
}

// invalidTokenReply is the answer of PostHog's flags service to a token
// it does not know (PH:rust/feature-flags/src/api/errors.rs, the
// "invalid_api_key" authentication error).
func invalidTokenReply() reply {
	return jsonReply(http.StatusUnauthorized, []byte(`{"type":"authentication_error","code":"invalid_api_key","detail":"Project API key invalid. You can find your project API key in PostHog project settings."}`))
}
