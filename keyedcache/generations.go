package keyedcache

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	"keyedcache.dev/keyedcache/backend"
)

// Namespace generations give delete-with-children to backends that
// cannot delete by prefix (memcached, for one). Every key prefix at a
// "::" boundary, and the key itself, has a generation token stored in the
// backend; an entry is stored under its key plus a hash of the tokens of
// all its prefixes. Deleting with children replaces one token, which
// hides every entry beneath it at once, in every process, in O(1).
//
// Tokens are random, never counters: if a token is evicted, the next
// write draws a new one, so entries written under the old token can
// never come back. The cost is one extra multi-key read per operation.

const genMarker = "%g"

// tokenKey is where the token of a prefix is stored.
func tokenKey(prefix string) string {
	return fitFlat([]byte("%gen" + Sep + prefix))
}

// ancestors returns key's prefixes at "::" boundaries and key itself.
func ancestors(key string) []string {
	var out []string
	for i := 0; ; {
		j := strings.Index(key[i:], Sep)
		if j < 0 {
			return append(out, key)
		}
		out = append(out, key[:i+j])
		i += j + len(Sep)
	}
}

// physical returns the backend key under which key is stored. Without
// generations it is key itself. With them, it returns "" when a token is
// missing and create is false (nothing can be stored under key), and
// draws missing tokens when create is true.
func (c *Cache) physical(ctx context.Context, key string, create bool) (string, error) {
	if !c.gens {
		return key, nil
	}
	prefixes := ancestors(key)
	tkeys := make([]string, len(prefixes))
	for i, p := range prefixes {
		tkeys[i] = tokenKey(p)
	}
	tokens, err := c.backendGetMany(ctx, tkeys)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, tk := range tkeys {
		tok, ok := tokens[tk]
		if !ok {
			if !create {
				return "", nil
			}
			fresh := newToken()
			added, err := c.b.Add(ctx, tk, fresh, backend.NoExpiry)
			if err != nil {
				return "", err
			}
			if !added { // another writer drew one first: use theirs
				var found bool
				if tok, found, err = c.b.Get(ctx, tk); err != nil {
					return "", err
				} else if !found {
					return "", errTokenLost
				}
			} else {
				tok = fresh
			}
		}
		h.Write(tok)
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)
	return fitFlat([]byte(key + genMarker + hex.EncodeToString(sum[:8]))), nil
}

var errTokenLost = errors.New("keyedcache: a generation token vanished while being read")

// newGeneration hides key and everything beneath it by replacing the
// token of key.
func (c *Cache) newGeneration(ctx context.Context, key string) error {
	return c.b.Set(ctx, tokenKey(key), newToken(), backend.NoExpiry)
}

func newToken() []byte {
	var b [12]byte
	rand.Read(b[:])
	return []byte(hex.EncodeToString(b[:]))
}
