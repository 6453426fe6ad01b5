package function

import (
	"time"

	"keyedcache.dev/keyedcache"
)

// A staff page (package web) shows an entry of this package as what it
// holds — the function's result — rather than as the record around it.
func init() {
	keyedcache.RegisterEntryView("func", viewEntry)
}

// viewEntry reads the value Inspect decoded from an entry of this
// package back as an entry, through the alias's codec: whatever the
// codec made of the record (an array under CBOR, an object under JSON,
// the record itself when kept by reference), it encodes again to the
// record's form; a slot (a by-reference store) gives its entry.
func viewEntry(c *keyedcache.Cache, v any) (keyedcache.EntryView, bool) {
	var e entry[any]
	if s, ok := v.(interface{ held() entry[any] }); ok {
		e = s.held() // a slot, kept by reference
	} else {
		data, err := c.Encode(v)
		if err != nil {
			return keyedcache.EntryView{}, false
		}
		if c.Decode(data, &e) != nil {
			return keyedcache.EntryView{}, false
		}
	}
	switch now := time.Now().UnixNano(); e.State {
	case stateValue:
		note := "cached function result"
		if e.kind(now) == kindStale {
			note = "cached function result, stale"
		}
		return keyedcache.EntryView{Value: e.V, HasValue: true, Note: note}, true
	case stateError:
		return keyedcache.EntryView{Value: e.Err, HasValue: true, Note: "cached function error"}, true
	case statePending:
		return keyedcache.EntryView{Note: "computation under way"}, true
	}
	return keyedcache.EntryView{}, false
}
