// Command ssm-probe-fakes serves the project's fake AWS services on
// loopback, so that ssm-probe can be run end to end on a machine without
// AWS (make demo). It only ever listens on the address it is given, which
// must be a loopback address unless --allow-any is set (the lab's own
// network namespaces).
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
)

// readHeaderTimeout bounds a client that connects and sends nothing.
const readHeaderTimeout = 10 * time.Second

func main() {
	listen := flag.String("imds", "127.0.0.1:0", "serve the fake IMDS on `ADDR`")
	mode := flag.String("mode", string(imdstest.V2Required), "fake IMDS mode")
	allowAny := flag.Bool("allow-any", false, "allow a non-loopback listen address (lab namespaces only)")
	flag.Parse()

	ap, err := netip.ParseAddrPort(*listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ssm-probe-fakes: --imds %q: %v\n", *listen, err)
		os.Exit(64)
	}
	if !ap.Addr().IsLoopback() && !*allowAny {
		fmt.Fprintf(os.Stderr, "ssm-probe-fakes: refusing to listen on non-loopback %s without --allow-any\n", ap)
		os.Exit(64)
	}
	valid := false
	for _, m := range imdstest.AllModes() {
		valid = valid || string(m) == *mode
	}
	if !valid {
		fmt.Fprintf(os.Stderr, "ssm-probe-fakes: unknown mode %q; one of %v\n", *mode, imdstest.AllModes())
		os.Exit(64)
	}
	ln, err := net.Listen("tcp", ap.String())
	if err != nil {
		fmt.Fprintf(os.Stderr, "ssm-probe-fakes: %v\n", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: imdstest.Handler(imdstest.DefaultConfig(imdstest.Mode(*mode))), ReadHeaderTimeout: readHeaderTimeout}
	fmt.Printf("imds http://%s\n", ln.Addr())
	os.Stdout.Sync()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintf(os.Stderr, "ssm-probe-fakes: %v\n", err)
		os.Exit(1)
	}
}
