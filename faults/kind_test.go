package faults

import (
	"errors"
	"regexp"
	"testing"
)

func TestKindNames(t *testing.T) {
	kebab := regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`)
	seen := map[string]Kind{}
	for _, k := range Kinds() {
		name := k.String()
		if !kebab.MatchString(name) {
			t.Errorf("kind %d: name %q is not kebab-case", int(k), name)
		}
		if prev, ok := seen[name]; ok {
			t.Errorf("kinds %d and %d share name %q", int(prev), int(k), name)
		}
		seen[name] = k
		got, err := ParseKind(name)
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", name, got, err)
		}
		b, err := k.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var u Kind
		if err := u.UnmarshalText(b); err != nil || u != k {
			t.Errorf("text round trip of %v gave %v, %v", k, u, err)
		}
		if k.Class() == 0 {
			t.Errorf("%v has no class", k)
		}
	}
	if len(seen) != 30 {
		t.Errorf("%d kinds, want 30", len(seen))
	}
	_, err := ParseKind("rotat")
	if err == nil || err.Error() != `unknown fault kind "rotat"` || !errors.Is(err, ErrUnknownKind) {
		t.Errorf("ParseKind(rotat) error = %v", err)
	}
	if Kind(0).String() != "kind(0)" || Kind(0).Valid() || Kind(99).Class() != 0 {
		t.Error("invalid kinds are not reported as such")
	}
	if _, err := Kind(0).MarshalText(); err == nil {
		t.Error("MarshalText accepted an invalid kind")
	}
}

func TestKindClassesAndRandom(t *testing.T) {
	want := map[Class][]Kind{
		ClassNetwork: {DropRequest, DropReply, Duplicate, Stale, Delay, Unreachable, NotRegistered, Stall, Shutdown, Crash, Abort,
			MissingReply, EndStream},
		ClassFile: {Rotate, CopyTruncate, Truncate, Delete, LateWrite, OpenError, ReadError, ShortRead, StatError,
			Pause, NoAppend, RotateCreate, Reopen, TruncateTo, StepRotate, StepTruncate},
		ClassControl: {Stop},
	}
	for c, ks := range want {
		for _, k := range ks {
			if k.Class() != c {
				t.Errorf("%v: class %v, want %v", k, k.Class(), c)
			}
		}
	}
	if got := randomNames(); got != "drop-request, drop-reply, duplicate, stale, read-error, short-read" {
		t.Errorf("random kinds %s", got)
	}
}
