package sim

import "encoding/binary"

// The simulated writer's bytes are a function of their position, so that the
// oracle can check delivered bytes without keeping a copy of what was
// written. The content stream is a sequence of 8-byte little-endian words;
// word j is a keyed 64-bit bijective mix of j. Any MinLocate consecutive
// bytes contain one whole word, which decodes to its position. Binary words
// keep generation and checking at a few nanoseconds per 8 bytes.

const (
	wordLen = 8
	mulA    = 0x9E3779B97F4A7C15
	// maxWord bounds decoded word numbers (positions below 2^43 bytes), so
	// that foreign bytes almost never decode.
	maxWord = 1 << 40
)

// MinLocate is the number of bytes Locate needs to find a position.
const MinLocate = 2*wordLen - 1

func inverse(c uint64) uint64 {
	inv := c
	for range 6 {
		inv *= 2 - c*inv
	}
	return inv
}

var invA = inverse(mulA)

// mix is one odd multiply and one xorshift: a bijection, cheap enough to run
// over every byte written and delivered, and scrambled enough that foreign
// or misaligned bytes essentially never decode (Locate also checks every
// surrounding byte).
func mix(key, x uint64) uint64 {
	x = (x ^ key) * mulA
	return x ^ x>>32
}

func unmix(key, y uint64) uint64 {
	y ^= y >> 32
	return y*invA ^ key
}

// Content fills dst with the content bytes at positions [pos, pos+len(dst)).
func Content(key uint64, pos int64, dst []byte) {
	var w [wordLen]byte
	if r := int(pos % wordLen); r != 0 {
		binary.LittleEndian.PutUint64(w[:], mix(key, uint64(pos/wordLen)))
		n := copy(dst, w[r:])
		dst, pos = dst[n:], pos+int64(n)
	}
	j := uint64(pos / wordLen)
	for len(dst) >= wordLen {
		binary.LittleEndian.PutUint64(dst, mix(key, j))
		dst, j = dst[wordLen:], j+1
	}
	if len(dst) > 0 {
		binary.LittleEndian.PutUint64(w[:], mix(key, j))
		copy(dst, w[:])
	}
}

// MatchLen returns how many leading bytes of data equal the content at pos.
func MatchLen(key uint64, pos int64, data []byte) int {
	var w [wordLen]byte
	n := 0
	if r := int(pos % wordLen); r != 0 {
		binary.LittleEndian.PutUint64(w[:], mix(key, uint64(pos/wordLen)))
		for ; r < wordLen && n < len(data); r, n = r+1, n+1 {
			if data[n] != w[r] {
				return n
			}
		}
	}
	j := uint64((pos + int64(n)) / wordLen)
	for len(data)-n >= wordLen {
		if binary.LittleEndian.Uint64(data[n:]) != mix(key, j) {
			break
		}
		n, j = n+wordLen, j+1
	}
	if n < len(data) {
		binary.LittleEndian.PutUint64(w[:], mix(key, j))
		for i := 0; n < len(data) && i < wordLen; i, n = i+1, n+1 {
			if data[n] != w[i] {
				return n
			}
		}
	}
	return n
}

// Locate returns the content position of data[0], found from the first whole
// word in data; ok is false if no alignment decodes to a word whose
// surroundings match too.
func Locate(key uint64, data []byte) (pos int64, ok bool) {
	for a := 0; a < wordLen && a+wordLen <= len(data); a++ {
		j := unmix(key, binary.LittleEndian.Uint64(data[a:]))
		if j >= maxWord {
			continue
		}
		p := int64(j)*wordLen - int64(a)
		if p < 0 {
			continue
		}
		if MatchLen(key, p, data) == len(data) {
			return p, true
		}
	}
	return 0, false
}
