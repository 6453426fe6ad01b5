package backend

// DecodedKeeper is implemented by in-process backends that can keep,
// beside the bytes of an entry, the Go value the core decoded them into,
// so that later reads of the same write skip the codec. The core never
// hands the kept value out: it hands out copies of it (see the package
// keyedcache's copy mode), so the bytes stay the entry's truth.
type DecodedKeeper interface {
	// GetDecoded returns the bytes stored under key (the store's own
	// slice, which the caller must not modify; never nil for an entry)
	// and the decoded value kept beside them, nil if none. An entry
	// without bytes (an object) reports found == false.
	GetDecoded(key string) (raw []byte, decoded any, found bool)
	// KeepDecoded keeps decoded beside the entry under key, replacing
	// what was kept, if the entry still holds raw, the very slice
	// GetDecoded returned (the same write). It may keep nothing.
	KeepDecoded(key string, raw []byte, decoded any)
}
