package faults

import (
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

// Every generated plan is valid, parses back from its text to an equal
// value, and its text is a fixed point of Parse then String.
func TestPropRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genPlan().Draw(t, "plan")
		if err := p.Validate(); err != nil {
			t.Fatalf("generator made an invalid plan: %v\n%s", err, p)
		}
		s := p.String()
		q, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(String()) failed: %v\n%s", err, s)
		}
		if !q.Equal(p) || !reflect.DeepEqual(q, p) {
			t.Fatalf("round trip differs:\n%s\nvs\n%s\n%#v\n%#v", s, q, p, q)
		}
		if s2 := q.String(); s2 != s {
			t.Fatalf("String not a fixed point:\n%s\nthen\n%s", s, s2)
		}
		var u Plan
		b, err := p.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		if err := u.UnmarshalText(b); err != nil || !u.Equal(p) {
			t.Fatalf("text marshalling: %v\n%s", err, u)
		}
	})
}

// Dropping any item keeps a plan valid, removes exactly that line, and
// leaves the original untouched.
func TestPropWithout(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genPlan().Draw(t, "plan")
		if p.Len() == 0 {
			return
		}
		before := p.String()
		i := rapid.IntRange(0, p.Len()-1).Draw(t, "i")
		q := p.Without(i)
		if err := q.Validate(); err != nil {
			t.Fatalf("Without(%d) invalid: %v", i, err)
		}
		if q.Len() != p.Len()-1 {
			t.Fatalf("Without(%d).Len() = %d, want %d", i, q.Len(), p.Len()-1)
		}
		if p.String() != before {
			t.Fatal("Without modified its receiver")
		}
		for j := range q.Len() {
			k := j
			if j >= i {
				k++
			}
			if q.Item(j) != p.Item(k) {
				t.Fatalf("item %d of Without(%d) = %q, want %q", j, i, q.Item(j), p.Item(k))
			}
		}
	})
}

// Simplification candidates are valid and keep the item count.
func TestPropSimpler(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genPlan().Draw(t, "plan")
		for _, q := range p.Simpler() {
			if err := q.Validate(); err != nil {
				t.Fatalf("invalid candidate: %v\n%s", err, q)
			}
			if q.Len() != p.Len() || q.Equal(p) {
				t.Fatalf("bad candidate:\n%s\nof\n%s", q, p)
			}
		}
	})
}

// Each fault line parses back to the same fault.
func TestPropFaultLine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f := genFault().Draw(t, "fault")
		if err := f.Validate(); err != nil {
			t.Fatalf("generator made an invalid fault: %v\n%v", err, f)
		}
		p, err := Parse(f.String())
		if err != nil || len(p.Faults) != 1 || p.Faults[0] != f {
			t.Fatalf("Parse(%q) = %v, %v", f.String(), p, err)
		}
	})
}
