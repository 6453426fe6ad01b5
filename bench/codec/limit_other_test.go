//go:build !(linux || darwin) || race

package codec

import "errors"

func limitAddressSpace(uint64) error {
	return errors.New("no address-space limit on this platform or under -race")
}
