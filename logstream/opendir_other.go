//go:build !linux

package logstream

import "os"

// openDir opens directory dir for reading its names.
func openDir(dir string) (*os.File, error) { return os.Open(dir) }
