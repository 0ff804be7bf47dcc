package winhost

import (
	"context"
	"time"
)

// Options tune Read.
type Options struct {
	Location *time.Location // the host's zone, of w32tm's times; nil: time.Local
}

// Read reads every fact of a Windows host through src: ReadNetwork and
// ReadHost. It never fails: what could not be read is a reader's
// Checked=false with its reason, or a problem.
func Read(ctx context.Context, src Source, opt Options) *Facts {
	return ReadHost(ctx, src, opt).WithNetwork(ReadNetwork(src))
}

// ReadNetwork reads what the adapters tell: the DNS client and the routes.
// It runs no command, so the DNS client is known without waiting for
// w32tm.
func ReadNetwork(src Source) *Facts {
	ads, adErr := src.Adapters()
	return &Facts{DNS: ReadDNS(src, ads, adErr), Routes: ReadRoutes(src, ads, adErr), adErr: adErr}
}

// ReadHost reads the rest: the persistent routes, the agent's service, the
// proxies, the time service (w32tm, under its deadline) and the image
// state.
func ReadHost(ctx context.Context, src Source, opt Options) *Facts {
	f := &Facts{}
	var p []string
	f.PersistentRoutes, p = ReadPersistentRoutes(src)
	f.Problems = append(f.Problems, p...)
	f.Service, f.Proxy, p = ReadAgentService(src)
	f.Problems = append(f.Problems, p...)
	f.Clock, p = ReadClock(ctx, src, opt.Location)
	f.Problems = append(f.Problems, p...)
	f.Image = ReadImage(src)
	return f
}

// WithNetwork returns a copy of f with n's DNS client and routes.
func (f *Facts) WithNetwork(n *Facts) *Facts {
	c := *f
	c.DNS, c.Routes, c.adErr = n.DNS, n.Routes, n.adErr
	return &c
}

// AdaptersError is why the adapters could not be read (GetAdaptersAddresses),
// or nil: the DNS client is then not known at all. A saved observation does
// not keep it.
func (f *Facts) AdaptersError() error { return f.adErr }
