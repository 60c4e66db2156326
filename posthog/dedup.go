package posthog

import (
	"container/list"
	"encoding/json"
	"slices"
	"strings"
	"sync"
)

// calledCache remembers which $feature_flag_called events were sent, per
// distinct id, as posthog-node's _distinctIdHasSentFlagCalls: an LRU of
// distinct ids (a use moves the id to the recent end), each with the set of
// "<key>_<response>[_<groups>]" already reported. Only the least recently
// used ids are evicted, never the whole cache.
type calledCache struct {
	mu    sync.Mutex
	limit int
	order *list.List               // of *calledEntry, oldest first
	byID  map[string]*list.Element // distinct id → element of order
}

type calledEntry struct {
	distinctID string
	sent       map[string]struct{}
}

func newCalledCache(limit int) *calledCache {
	return &calledCache{limit: max(limit, 1), order: list.New(), byID: make(map[string]*list.Element)}
}

// firstTime records that the event for distinctID and reportKey is sent
// and reports whether it had not been sent before.
func (c *calledCache) firstTime(distinctID, reportKey string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[distinctID]
	if ok {
		c.order.MoveToBack(el)
	} else {
		el = c.order.PushBack(&calledEntry{distinctID: distinctID, sent: make(map[string]struct{}, 1)})
		c.byID[distinctID] = el
	}
	e := el.Value.(*calledEntry)
	if _, seen := e.sent[reportKey]; seen {
		return false
	}
	e.sent[reportKey] = struct{}{}
	for c.order.Len() > c.limit {
		oldest := c.order.Front()
		c.order.Remove(oldest)
		delete(c.byID, oldest.Value.(*calledEntry).distinctID)
	}
	return true
}

// len is the number of distinct ids remembered.
func (c *calledCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// reportKey is posthog-node's featureFlagReportedKey:
// `${key}_${response}` plus `_${JSON.stringify(sorted group entries)}` when
// there are groups. response is the JavaScript text of the value: "true",
// "false", the variant, or "undefined" for no result.
func reportKey(key, response string, groups map[string]string) string {
	var b strings.Builder
	b.WriteString(key)
	b.WriteByte('_')
	b.WriteString(response)
	if len(groups) > 0 {
		types := make([]string, 0, len(groups))
		for t := range groups {
			types = append(types, t)
		}
		slices.Sort(types)
		entries := make([][2]string, len(types))
		for i, t := range types {
			entries[i] = [2]string{t, groups[t]}
		}
		var buf strings.Builder
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // JSON.stringify does not escape <, >, &
		_ = enc.Encode(entries)  // strings only: cannot fail
		b.WriteByte('_')
		b.WriteString(strings.TrimSuffix(buf.String(), "\n"))
	}
	return b.String()
}
