package sim

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestMixInverts(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		key, x := r.Uint64(), r.Uint64()
		if got := unmix(key, mix(key, x)); got != x {
			t.Fatalf("unmix(mix(%#x)) = %#x", x, got)
		}
	}
}

func TestLocateFindsEveryAlignment(t *testing.T) {
	const key = 42
	buf := make([]byte, 100)
	for pos := int64(0); pos < 200; pos++ {
		for n := MinLocate; n <= len(buf); n += 7 {
			Content(key, pos, buf[:n])
			got, ok := Locate(key, buf[:n])
			if !ok || got != pos {
				t.Fatalf("Locate(pos %d, n %d) = %d, %v", pos, n, got, ok)
			}
		}
	}
	Content(key, 1000, buf)
	buf[40] ^= 1
	if _, ok := Locate(key, buf); ok {
		t.Fatal("Locate accepted corrupted data")
	}
	if _, ok := Locate(key, []byte("not content at all, not content at all")); ok {
		t.Fatal("Locate accepted foreign bytes")
	}
}

func TestDecoderRuns(t *testing.T) {
	const key = 7
	at := time.Unix(0, 0)
	chunk := func(pos, n int64) []byte {
		b := make([]byte, n)
		Content(key, pos, b)
		return b
	}
	d := decoder{key: key}
	var runs []Run
	runs = d.add(runs, at, 0, chunk(0, 10))                             // short: pending, continues at flush
	runs = d.add(runs, at, 0, chunk(10, 100))                           // located from the start
	runs = d.add(runs, at, 0, chunk(110, 3))                            // short continuation
	runs = d.add(runs, at, 0, append(chunk(113, 5), chunk(500, 40)...)) // jump
	runs = d.add(runs, at, 0, []byte("garbage!"))
	runs = d.add(runs, at, 0, chunk(540, 2))
	runs = d.flush(runs)
	want := []Run{{Src: 0, Len: 118}, {Src: 500, Len: 40, Off: 118}, {Src: -1, Len: 10, Off: 158}}
	if len(runs) != len(want) {
		t.Fatalf("runs %+v", runs)
	}
	for i := range want {
		if runs[i].Src != want[i].Src || runs[i].Len != want[i].Len || runs[i].Off != want[i].Off {
			t.Fatalf("run %d = %+v, want %+v (all %+v)", i, runs[i], want[i], runs)
		}
	}
}
