package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/logstream-sim/logstream-sim/logstream/netengine"
)

// CertsCommand is "simrun certs": a development CA and certificates for
// mutual TLS between 'simrun live' and 'simrun receive'.
type CertsCommand struct {
	main *Main
	// now, if set, replaces the clock (tests).
	now func() time.Time
}

// Usage returns the help text of "certs".
func (c *CertsCommand) Usage() string {
	return `Usage: simrun certs --out DIR --sites NAME[,NAME...] [flags]

Makes a development certificate authority and certificates for mutual TLS
(ECDSA P-256, standard library crypto/x509), as PEM files in DIR:

	ca.pem                  the CA certificate: give it to both sides as --ca
	server.pem, server-key.pem
	                        the receiver's certificate, for --hosts
	SITE.pem, SITE-key.pem  one per site, for 'simrun live'; its common
	                        name is the site name the receiver sees

The CA's private key is not kept: to add a site, make a new set. For
production, certificates come from the operator's own CA (as FLARE's
provisioning makes them). No file is overwritten: DIR must not hold any of
them already, and nothing is written when anything fails.

Flags:

	--out DIR        output directory (created if missing)
	--sites LIST     comma-separated site names (letters, digits, '.', '_', '-')
	--hosts LIST     the receiver's host names and IP addresses (default
	                 127.0.0.1,localhost)
	--days N         validity in days from now (default 30)

Example:

	simrun certs --out pki --sites site-1,site-2
	simrun receive --out logs --cert pki/server.pem --key pki/server-key.pem --ca pki/ca.pem &
	simrun live --file app.log --to server=127.0.0.1:7070 --site site-1 \
	    --cert pki/site-1.pem --key pki/site-1-key.pem --ca pki/ca.pem
`
}

// Run runs the command.
func (c *CertsCommand) Run(_ context.Context, args []string) error {
	fset := flag.NewFlagSet("certs", flag.ContinueOnError)
	out := fset.String("out", "", "")
	sites := fset.String("sites", "", "")
	hosts := fset.String("hosts", "127.0.0.1,localhost", "")
	days := fset.Int("days", 30, "")
	rest, err := c.main.parseFlags(fset, c.Usage(), args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("certs: unexpected argument %q", "run 'simrun help certs' for usage", rest[0])
	}
	if *out == "" || *sites == "" {
		return usagef("certs: --out and --sites are required", "e.g. simrun certs --out pki --sites site-1,site-2")
	}
	if *days <= 0 {
		return usagef("certs: --days must be > 0, got %d", "", *days)
	}
	hostList := split(*hosts)
	if len(hostList) == 0 {
		return usagef("certs: --hosts names no host", "e.g. --hosts 127.0.0.1,localhost")
	}
	siteList := split(*sites)
	seen := map[string]bool{"server": true, "ca": true}
	for _, s := range siteList {
		if err := netengine.CheckSite(s); err != nil {
			return usagef("certs: --sites: %v", "", err)
		}
		if seen[s] {
			return usagef("certs: --sites: %q given twice or reserved (ca and server are taken)", "", s)
		}
		seen[s] = true
	}
	now := time.Now()
	if c.now != nil {
		now = c.now()
	}
	from, to := now.Add(-time.Hour), now.Add(time.Duration(*days)*24*time.Hour)
	ca, err := netengine.NewDevCA("logstream-sim development CA", from, to)
	if err != nil {
		return err
	}
	files := map[string][]byte{"ca.pem": ca.CertPEM}
	server, err := ca.Issue("server", hostList, from, to)
	if err != nil {
		return usagef("certs: --hosts: %v", "", err)
	}
	files["server.pem"], files["server-key.pem"] = server.CertPEM, server.KeyPEM
	for _, s := range siteList {
		is, err := ca.Issue(s, nil, from, to)
		if err != nil {
			return err
		}
		files[s+".pem"], files[s+"-key.pem"] = is.CertPEM, is.KeyPEM
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return usagef("certs: %v", "", err)
	}
	for name := range files {
		if _, err := os.Lstat(filepath.Join(*out, name)); !errors.Is(err, fs.ErrNotExist) {
			return usagef("certs: %s already exists", "choose another --out, or remove the old set", filepath.Join(*out, name))
		}
	}
	// Write every file under a temporary name first, then rename: a
	// failure leaves no partial set behind.
	tmp, err := os.MkdirTemp(*out, ".certs-*")
	if err != nil {
		return usagef("certs: %v", "", err)
	}
	defer os.RemoveAll(tmp)
	for name, b := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, "-key.pem") {
			mode = 0o600
		}
		if err := os.WriteFile(filepath.Join(tmp, name), b, mode); err != nil {
			return usagef("certs: %v", "", err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(*out, name)); err != nil {
			return usagef("certs: %v", "", err)
		}
	}
	fmt.Fprintf(c.main.Stdout, "wrote %s: ca.pem, server.pem (hosts %s), and %d site certificate(s): %s (valid until %s)\n",
		*out, strings.Join(hostList, ","), len(siteList), strings.Join(siteList, ", "), to.UTC().Format(time.DateOnly))
	return nil
}

// split splits a comma-separated list, dropping empty items.
func split(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
