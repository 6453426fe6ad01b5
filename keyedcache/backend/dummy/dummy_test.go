package dummy_test

import (
	"testing"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/backendtest"
	"keyedcache.dev/keyedcache/backend/dummy"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) (a, b backend.Backend) {
		return dummy.New(), dummy.New()
	}, backendtest.StoresNothing())
}
