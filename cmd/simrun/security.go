package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/logstream-sim/logstream-sim/logstream/netengine"
)

// tlsFlags are the transport security flags of 'simrun live' and 'simrun
// receive': mutual TLS from --cert, --key and --ca, or plain TCP only when
// --insecure says so.
type tlsFlags struct {
	cert, key, ca string
	insecure      bool
}

// tlsUsage is the flags' help text.
const tlsUsage = `	--cert FILE        this side's certificate (PEM), from the operator's CA
	--key FILE         its private key (PEM)
	--ca FILE          the operator's CA certificate(s) (PEM): verifies the
	                   other side (mutual TLS 1.3)
	--insecure         plain TCP instead: no encryption, no authentication
	                   (prints a warning); required when no --cert is given
`

func (f *tlsFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&f.cert, "cert", "", "")
	fs.StringVar(&f.key, "key", "", "")
	fs.StringVar(&f.ca, "ca", "", "")
	fs.BoolVar(&f.insecure, "insecure", false, "")
}

// apply sets opt's transport security, or returns a usage error naming the
// flags. With --insecure it prints a warning line to stderr.
func (f *tlsFlags) apply(cmd string, opt *netengine.Options, stderr io.Writer) error {
	any := f.cert != "" || f.key != "" || f.ca != ""
	switch {
	case f.insecure && any:
		return usagef("%s: --insecure and --cert/--key/--ca are exclusive", "choose mutual TLS or plain TCP")
	case f.insecure:
		fmt.Fprintf(stderr, "simrun %s: WARNING: --insecure: plain TCP, no encryption and no authentication; anyone who reaches the port can stream as any site\n", cmd)
		opt.Insecure = true
		return nil
	case !any:
		return usagef("%s: no transport security: give --cert, --key and --ca (mutual TLS), or --insecure for plain TCP",
			"'simrun certs --out DIR' makes a development CA and certificates")
	case f.cert == "" || f.key == "" || f.ca == "":
		return usagef("%s: --cert, --key and --ca go together (have --cert=%q --key=%q --ca=%q)", "", cmd, f.cert, f.key, f.ca)
	}
	cfg, err := netengine.LoadTLS(f.cert, f.key, f.ca)
	if err != nil {
		return usagef("%s: %v", "", cmd, err)
	}
	opt.TLS = cfg
	return nil
}
