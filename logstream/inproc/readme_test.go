package inproc_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// Every Go block of README.md is the body of a runnable Example (comments
// and layout aside), so the README's code compiles and runs under go test.
func TestREADMEGoBlocksAreExamples(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var examples strings.Builder
	for _, f := range []string{"example_test.go", "../../sim/example_test.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		examples.Write(b)
	}
	comment := regexp.MustCompile(`//[^\n]*`)
	space := regexp.MustCompile(`\s+`)
	norm := func(s string) string { return space.ReplaceAllString(comment.ReplaceAllString(s, ""), "") }
	all := norm(examples.String())
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) == 0 {
		t.Fatal("no Go block in README.md")
	}
	for _, b := range blocks {
		if !strings.Contains(all, norm(b[1])) {
			t.Errorf("README.md's Go block is in no Example (logstream/inproc/example_test.go, sim/example_test.go):\n%s", b[1])
		}
	}
}
