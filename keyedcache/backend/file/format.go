package file

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"os"
	"time"
)

// The layout of an entry file, all integers big-endian:
//
//	offset  size  field
//	0       3     magic "KCF"
//	3       1     format version (2)
//	4       4     CRC-32C (Castagnoli) of every byte from offset 8 to the end
//	8       8     expiry, Unix nanoseconds; 0 = never
//	16      4     key length
//	20      8     value length
//	28      …     key, then value
//
// The file's size must be exactly headerSize + key length + value length.
const (
	//
	// Version 2 added the prefix tree (tree.go): every entry file has a
	// marker. Entries of version 1, written without one, read as corrupt.
	formatVersion = 2
	headerSize    = 28
	// maxKeyLen bounds the key length a header may claim, so that a
	// garbage header cannot make a scan allocate gigabytes.
	maxKeyLen = 1 << 16
)

var (
	magic      = [3]byte{'K', 'C', 'F'}
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	errCorrupt = errors.New("file: corrupt entry")
)

// entry is a decoded entry file.
type entry struct {
	key    string
	expiry int64 // Unix nanoseconds; 0 = never
	value  []byte
}

// live reports whether an entry with expiry is alive at now (Unix ns).
func live(expiry, now int64) bool {
	return expiry == 0 || now < expiry
}

// expiryAt returns the expiry of an entry written at now with ttl:
// 0 for backend.NoExpiry, the far future when now+ttl overflows.
func expiryAt(now time.Time, ttl time.Duration) int64 {
	if ttl == 0 {
		return 0
	}
	n := now.UnixNano()
	if ttl > 0 && n > math.MaxInt64-int64(ttl) {
		return math.MaxInt64
	}
	return n + int64(ttl)
}

// encodeHeader returns the header and key of an entry, with the CRC
// computed over them and value.
func encodeHeader(key string, value []byte, expiry int64, extra int) []byte {
	buf := make([]byte, headerSize+len(key), headerSize+len(key)+extra)
	copy(buf[0:3], magic[:])
	buf[3] = formatVersion
	binary.BigEndian.PutUint64(buf[8:16], uint64(expiry))
	binary.BigEndian.PutUint32(buf[16:20], uint32(len(key)))
	binary.BigEndian.PutUint64(buf[20:28], uint64(len(value)))
	copy(buf[headerSize:], key)
	crc := crc32.Update(0, castagnoli, buf[8:])
	crc = crc32.Update(crc, castagnoli, value)
	binary.BigEndian.PutUint32(buf[4:8], crc)
	return buf
}

// decode parses a whole entry file, checking its size and checksum.
func decode(data []byte) (entry, error) {
	h, err := parseHeader(data)
	if err != nil {
		return entry{}, err
	}
	if uint64(len(data)) != h.size() {
		return entry{}, errCorrupt
	}
	if crc32.Checksum(data[8:], castagnoli) != h.crc {
		return entry{}, errCorrupt
	}
	kend := headerSize + int(h.keyLen)
	return entry{key: string(data[headerSize:kend]), expiry: h.expiry, value: data[kend:]}, nil
}

// header is the fixed part of an entry file.
type header struct {
	crc    uint32
	expiry int64
	keyLen uint32
	valLen uint64
}

// size is the size of the whole file the header describes.
func (h header) size() uint64 {
	return headerSize + uint64(h.keyLen) + h.valLen
}

func parseHeader(b []byte) (header, error) {
	if len(b) < headerSize || [3]byte(b[0:3]) != magic || b[3] != formatVersion {
		return header{}, errCorrupt
	}
	h := header{
		crc:    binary.BigEndian.Uint32(b[4:8]),
		expiry: int64(binary.BigEndian.Uint64(b[8:16])),
		keyLen: binary.BigEndian.Uint32(b[16:20]),
		valLen: binary.BigEndian.Uint64(b[20:28]),
	}
	if h.keyLen > maxKeyLen || h.valLen > math.MaxInt64/2 {
		return header{}, errCorrupt
	}
	return h, nil
}

// meta is what a scan learns from an entry file without reading its
// value: the key, the expiry, the size on disk and the modification time.
type meta struct {
	key    string
	expiry int64
	size   int64
	mtime  time.Time
}

// readMeta reads the header and key of the entry file at path and checks
// the file's size against them. It does not read the value, so it does
// not verify the checksum. A file that is not an entry returns
// errCorrupt (with its size and mtime filled in); a missing file returns
// an error matching fs.ErrNotExist.
func readMeta(path string) (meta, error) {
	f, err := os.Open(path)
	if err != nil {
		return meta{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return meta{}, err
	}
	m := meta{size: fi.Size(), mtime: fi.ModTime()}
	var hb [headerSize]byte
	if _, err := io.ReadFull(f, hb[:]); err != nil {
		return m, errCorrupt
	}
	h, err := parseHeader(hb[:])
	if err != nil || uint64(m.size) != h.size() {
		return m, errCorrupt
	}
	key := make([]byte, h.keyLen)
	if _, err := io.ReadFull(f, key); err != nil {
		return m, errCorrupt
	}
	m.key, m.expiry = string(key), h.expiry
	return m, nil
}

// Names of the files and directories the store owns.
const (
	entrySuffix = ".cache"   // entry files: <64 hex digits>.cache
	tempPrefix  = ".kc-tmp-" // temporary files, in a fan-out directory or the root
	lockDirName = "locks"    // lock files: locks/<2 hex digits>.lock
	lockSuffix  = ".lock"
	hashHexLen  = 2 * sha256.Size
)

// loc is where a key lives: its fan-out directory, its file and its lock
// stripe.
type loc struct {
	key    string
	sub    string
	path   string
	stripe int
}

// nameOf returns the fan-out directory name, file name and stripe of key.
func nameOf(key string) (sub, name string, stripe int) {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return h[:2], h + entrySuffix, int(sum[1]) % numStripes
}

// stripeOfName returns the stripe of an entry file name, which must be
// an entry name (isEntryName).
func stripeOfName(name string) int {
	b, _ := hex.DecodeString(name[2:4])
	return int(b[0]) % numStripes
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// isSubdirName reports whether name is a fan-out directory name.
func isSubdirName(name string) bool {
	return len(name) == 2 && isLowerHex(name)
}

// isEntryName reports whether name is an entry file name.
func isEntryName(name string) bool {
	return len(name) == hashHexLen+len(entrySuffix) &&
		name[hashHexLen:] == entrySuffix && isLowerHex(name[:hashHexLen])
}
