package swarm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrShard is wrapped by errors about a malformed shard.
var ErrShard = errors.New("bad shard")

// Shard selects the seeds s with s % Count == Index, so that Count machines
// (a CI matrix, a Kubernetes indexed Job) split one seed range between them
// without overlap. The zero Shard, like 0/1, selects every seed.
type Shard struct {
	Index, Count int
}

// ParseShard reads "i/n" with 0 <= i < n.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("%w %q (want i/n with 0 <= i < n, such as 0/4)", ErrShard, s)
	}
	return Shard{Index: i, Count: n}, nil
}

func (s Shard) norm() Shard {
	if s.Count < 1 {
		return Shard{0, 1}
	}
	return s
}

// String returns "i/n".
func (s Shard) String() string {
	s = s.norm()
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Contains reports whether seed belongs to the shard.
func (s Shard) Contains(seed uint64) bool {
	s = s.norm()
	return seed%uint64(s.Count) == uint64(s.Index)
}

// first returns the first seed >= from in the shard, and false if there is
// none below 2^64.
func (s Shard) first(from uint64) (uint64, bool) {
	s = s.norm()
	n := uint64(s.Count)
	off := (uint64(s.Index) + n - from%n) % n
	if from+off < from {
		return 0, false
	}
	return from + off, true
}
