package cache

import (
	"net/http"
	"strings"
	"sync"
)

// maxVariants bounds the variants kept per resource, so that a response
// varying on a field with many values cannot make lookups slow.
const maxVariants = 32

// store holds the entries by primary key with a byte-bounded LRU order.
type store struct {
	mu     sync.Mutex
	groups map[string][]*entry
	head   *entry // most recently used
	tail   *entry // least recently used
	bytes  int64
	count  int64
	max    int64
	gen    uint64 // bumped by purges; fills started before one are not stored

	evictions uint64
}

func newStore(maxBytes int64) *store {
	return &store{groups: make(map[string][]*entry), max: maxBytes}
}

// lookup returns the variant of key that matches the request's fields h
// and that the client can decode, the one it prefers most; nil if none.
// An identity copy fetched for a client that takes no compression is not
// offered to one that does (want is the coding the cache would fetch for
// it): that client gets a compressed copy fetched instead, once.
func (s *store) lookup(key string, h http.Header, want string) *entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *entry
	bestQ := 0.0
	for _, e := range s.groups[key] {
		if e.coding == "" && e.askedFor == "" && want != "" {
			continue
		}
		if varyKey(h, e.vary) != e.varyKey {
			continue
		}
		q := codingQ(h, e.coding)
		if q <= 0 {
			continue
		}
		if best == nil || q > bestQ || (q == bestQ && len(e.body) < len(best.body)) {
			best, bestQ = e, q
		}
	}
	if best != nil {
		s.toFront(best)
	}
	return best
}

// generation returns the purge generation a fill starts in.
func (s *store) generation() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen
}

// put stores e for requests with fields h, replacing the variants the
// same request would have matched with the same coding. It stores nothing
// if a purge happened since gen or e is larger than maxEntry.
func (s *store) put(e *entry, h http.Header, gen uint64, maxEntry int64) bool {
	if e.size > maxEntry || e.size > s.max {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen != s.gen {
		return false
	}
	group := s.groups[e.key]
	kept := group[:0:0]
	for _, old := range group {
		if old.coding == e.coding && varyKey(h, old.vary) == old.varyKey {
			s.unlink(old)
			continue
		}
		kept = append(kept, old)
	}
	if len(kept) >= maxVariants {
		s.unlink(kept[0])
		kept = kept[1:]
	}
	s.groups[e.key] = append(kept, e)
	s.pushFront(e)
	for s.bytes > s.max && s.tail != nil && s.tail != e {
		s.evictions++
		s.removeLocked(s.tail)
	}
	return true
}

// replace swaps old for its revalidated copy n, if old is still stored.
func (s *store) replace(old, n *entry) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	group := s.groups[old.key]
	for i, e := range group {
		if e == old {
			s.unlink(old)
			group[i] = n
			s.pushFront(n)
			return true
		}
	}
	return false
}

// remove drops e if it is still stored.
func (s *store) remove(e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.groups[e.key] {
		if x == e {
			s.removeLocked(e)
			return
		}
	}
}

// purge drops every entry whose canonical path starts with prefix and
// returns how many it dropped.
func (s *store) purge(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	n := 0
	for key, group := range s.groups {
		if len(group) == 0 || !strings.HasPrefix(group[0].path, prefix) {
			continue
		}
		for _, e := range group {
			s.unlink(e)
			n++
		}
		delete(s.groups, key)
	}
	return n
}

// usage returns the bytes charged and the number of entries.
func (s *store) usage() (bytes, entries int64, evictions uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes, s.count, s.evictions
}

// removeLocked drops e from its group and the LRU list.
func (s *store) removeLocked(e *entry) {
	group := s.groups[e.key]
	for i, x := range group {
		if x == e {
			group = append(group[:i:i], group[i+1:]...)
			break
		}
	}
	if len(group) == 0 {
		delete(s.groups, e.key)
	} else {
		s.groups[e.key] = group
	}
	s.unlink(e)
}

// unlink takes e off the LRU list and the byte count (not its group).
func (s *store) unlink(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else if s.head == e {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else if s.tail == e {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
	s.bytes -= e.size
	s.count--
}

func (s *store) pushFront(e *entry) {
	e.prev, e.next = nil, s.head
	if s.head != nil {
		s.head.prev = e
	}
	s.head = e
	if s.tail == nil {
		s.tail = e
	}
	s.bytes += e.size
	s.count++
}

func (s *store) toFront(e *entry) {
	if s.head == e {
		return
	}
	s.unlink(e)
	s.pushFront(e)
}
