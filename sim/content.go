package sim

// The simulated writer's bytes are a function of their position, so that the
// oracle can check delivered bytes without keeping a copy of what was
// written. The content stream is cut into 16-byte lines: 15 lowercase hex
// digits of a 60-bit bijective mix of the line number, then '\n'. Any 31
// consecutive bytes contain one whole line, which decodes to its position.

const (
	lineLen  = 16
	mask60   = 1<<60 - 1
	mulA     = 0x9E3779B97F4A7C15&mask60 | 1
	mulB     = 0xBF58476D1CE4E5B9&mask60 | 1
	hexDigit = "0123456789abcdef"
)

// MinLocate is the number of bytes Locate needs to find a position.
const MinLocate = 2*lineLen - 1

func inverse(c uint64) uint64 {
	inv := c
	for range 6 {
		inv *= 2 - c*inv
	}
	return inv
}

var (
	invA = inverse(mulA)
	invB = inverse(mulB)
)

func mix(key, x uint64) uint64 {
	x = (x ^ key) & mask60
	x = x * mulA & mask60
	x ^= x >> 29
	x = x * mulB & mask60
	x ^= x >> 32
	return x
}

func unmix(key, y uint64) uint64 {
	y ^= y >> 32
	y = y * invB & mask60
	y ^= y>>29 ^ y>>58
	y = y * invA & mask60
	return (y ^ key) & mask60
}

// Content fills dst with the content bytes at positions [pos, pos+len(dst)).
func Content(key uint64, pos int64, dst []byte) {
	for len(dst) > 0 {
		line, r := uint64(pos/lineLen), int(pos%lineLen)
		v := mix(key, line)
		for ; r < lineLen && len(dst) > 0; r++ {
			if r == lineLen-1 {
				dst[0] = '\n'
			} else {
				dst[0] = hexDigit[v>>(4*(14-r))&0xf]
			}
			dst = dst[1:]
			pos++
		}
	}
}

// MatchLen returns how many leading bytes of data equal the content at pos.
func MatchLen(key uint64, pos int64, data []byte) int {
	var buf [256]byte
	n := 0
	for n < len(data) {
		k := min(len(buf), len(data)-n)
		Content(key, pos+int64(n), buf[:k])
		for i := 0; i < k; i++ {
			if buf[i] != data[n+i] {
				return n + i
			}
		}
		n += k
	}
	return n
}

// Locate returns the content position of data[0], found from the first whole
// line in data; ok is false if data has no whole line that decodes, or if the
// bytes before and after that line do not match.
func Locate(key uint64, data []byte) (pos int64, ok bool) {
	for a := 0; a < lineLen && a+lineLen <= len(data); a++ {
		if data[a+lineLen-1] != '\n' {
			continue
		}
		var v uint64
		valid := true
		for _, c := range data[a : a+lineLen-1] {
			switch {
			case c >= '0' && c <= '9':
				v = v<<4 | uint64(c-'0')
			case c >= 'a' && c <= 'f':
				v = v<<4 | uint64(c-'a'+10)
			default:
				valid = false
			}
			if !valid {
				break
			}
		}
		if !valid {
			continue
		}
		line := unmix(key, v)
		if line > 1<<50 {
			continue
		}
		p := int64(line)*lineLen - int64(a)
		if p < 0 {
			continue
		}
		if MatchLen(key, p, data) == len(data) {
			return p, true
		}
	}
	return 0, false
}
