//go:build tools

// Package tools pins module dependencies that are used only by tests or by
// packages not yet written, so that `go mod tidy` keeps them.
package tools

import (
	_ "github.com/benbjohnson/clock"
	_ "github.com/spf13/afero"
	_ "go.uber.org/goleak"
	_ "pgregory.net/rapid"
)
