package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logstream-sim/logstream-sim/logstream/netengine"
)

// TestTransportFlags: live and receive refuse to run without a choice of
// transport security, and name the flags that are wrong.
func TestTransportFlags(t *testing.T) {
	dir := t.TempDir()
	m := &Main{Stdout: new(bytes.Buffer), Stderr: new(bytes.Buffer)}
	if err := (&CertsCommand{main: m}).Run(context.Background(), []string{"--out", dir, "--sites", "a"}); err != nil {
		t.Fatal(err)
	}
	cert, key, ca := filepath.Join(dir, "a.pem"), filepath.Join(dir, "a-key.pem"), filepath.Join(dir, "ca.pem")
	f := filepath.Join(dir, "x.log")
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "give --cert, --key and --ca (mutual TLS), or --insecure"},
		{[]string{"--insecure", "--cert", cert}, "--insecure and --cert/--key/--ca are exclusive"},
		{[]string{"--cert", cert, "--key", key}, "--cert, --key and --ca go together"},
		{[]string{"--cert", cert, "--key", key, "--ca", filepath.Join(dir, "nope.pem")}, "nope.pem"},
		{[]string{"--cert", key, "--key", key, "--ca", ca}, "a-key.pem"},
	} {
		for _, cmd := range []Command{&LiveCommand{main: m}, &ReceiveCommand{main: m}} {
			args := append([]string{"--file", f, "--to", "a=127.0.0.1:1"}, c.args...)
			if _, ok := cmd.(*ReceiveCommand); ok {
				args = append([]string{"--listen", "127.0.0.1:0", "--out", filepath.Join(dir, "out")}, c.args...)
			}
			err := cmd.Run(context.Background(), args)
			var ue *UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%T %q: %v, want a usage error with %q", cmd, c.args, err, c.want)
			}
		}
	}
}

// TestCerts makes a set, loads it as both sides would, and refuses to
// overwrite it or to take bad site names.
func TestCerts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	out := new(bytes.Buffer)
	m := &Main{Stdout: out, Stderr: out}
	if err := (&CertsCommand{main: m}).Run(context.Background(), []string{"--out", dir, "--sites", "site-1, site-2"}); err != nil {
		t.Fatal(err)
	}
	for _, side := range []string{"server", "site-1", "site-2"} {
		cfg, err := netengine.LoadTLS(filepath.Join(dir, side+".pem"), filepath.Join(dir, side+"-key.pem"), filepath.Join(dir, "ca.pem"))
		if err != nil {
			t.Fatal(err)
		}
		leaf := cfg.Certificates[0].Leaf
		if site, err := netengine.CommonNameIdentity(leaf); err != nil || site != side {
			t.Fatalf("%s: identity %q, %v", side, site, err)
		}
		if fi, _ := os.Stat(filepath.Join(dir, side+"-key.pem")); fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s key mode %v", side, fi.Mode())
		}
	}
	before, _ := os.ReadDir(dir)
	for _, args := range [][]string{
		{"--out", dir, "--sites", "site-3"},         // ca.pem exists
		{"--out", t.TempDir(), "--sites", "../etc"}, // bad name
		{"--out", t.TempDir(), "--sites", "a,a"},    // twice
		{"--out", t.TempDir(), "--sites", "server"}, // reserved
		{"--out", t.TempDir(), "--sites", "a", "--days", "0"},
		{"--sites", "a"},
	} {
		err := (&CertsCommand{main: m}).Run(context.Background(), args)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v", args, err)
		}
	}
	if after, _ := os.ReadDir(dir); len(after) != len(before) {
		t.Fatalf("a refused run changed %s: %d entries, then %d", dir, len(before), len(after))
	}
}
