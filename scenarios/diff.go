package scenarios

import "strings"

// Diff returns a line diff of a and b: unchanged lines prefixed with two
// spaces, lines only in a with "- ", lines only in b with "+ ". Long runs of
// unchanged lines are elided.
func Diff(a, b string) string {
	x, y := splitLines(a), splitLines(b)
	// Trim the common prefix and suffix, then LCS on the middle.
	pre := 0
	for pre < len(x) && pre < len(y) && x[pre] == y[pre] {
		pre++
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && x[len(x)-1-suf] == y[len(y)-1-suf] {
		suf++
	}
	mx, my := x[pre:len(x)-suf], y[pre:len(y)-suf]
	var ops []string
	for _, l := range x[:pre] {
		ops = append(ops, "  "+l)
	}
	if len(mx)*len(my) > 1<<20 {
		for _, l := range mx {
			ops = append(ops, "- "+l)
		}
		for _, l := range my {
			ops = append(ops, "+ "+l)
		}
	} else {
		// lcs[i][j] = LCS length of mx[i:] and my[j:].
		lcs := make([][]int, len(mx)+1)
		for i := range lcs {
			lcs[i] = make([]int, len(my)+1)
		}
		for i := len(mx) - 1; i >= 0; i-- {
			for j := len(my) - 1; j >= 0; j-- {
				if mx[i] == my[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(mx) || j < len(my) {
			switch {
			case i < len(mx) && j < len(my) && mx[i] == my[j]:
				ops = append(ops, "  "+mx[i])
				i++
				j++
			case i < len(mx) && (j == len(my) || lcs[i+1][j] >= lcs[i][j+1]):
				ops = append(ops, "- "+mx[i])
				i++
			default:
				ops = append(ops, "+ "+my[j])
				j++
			}
		}
	}
	for _, l := range x[len(x)-suf:] {
		ops = append(ops, "  "+l)
	}
	return elide(ops, 2)
}

// elide keeps ctx unchanged lines around each change and replaces the rest
// with "  ...".
func elide(ops []string, ctx int) string {
	keep := make([]bool, len(ops))
	for i, op := range ops {
		if !strings.HasPrefix(op, "  ") {
			for k := max(0, i-ctx); k <= min(len(ops)-1, i+ctx); k++ {
				keep[k] = true
			}
		}
	}
	var b strings.Builder
	skipped := false
	for i, op := range ops {
		if !keep[i] {
			if !skipped {
				b.WriteString("  ...\n")
				skipped = true
			}
			continue
		}
		skipped = false
		b.WriteString(op)
		b.WriteByte('\n')
	}
	return b.String()
}

func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
