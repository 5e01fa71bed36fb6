package simfs

import (
	"os"
	"syscall"
	"testing"
)

// TestMain clears the umask so that modes created on the OS match simfs,
// which applies none.
func TestMain(m *testing.M) {
	syscall.Umask(0)
	os.Exit(m.Run())
}
