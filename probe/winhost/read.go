package winhost

import (
	"context"
	"time"
)

// Options tune Read.
type Options struct {
	Location *time.Location // the host's zone, of w32tm's times; nil: time.Local
}

// Read reads every fact of a Windows host through src. It never fails:
// what could not be read is a reader's Checked=false with its reason, or
// a problem.
func Read(ctx context.Context, src Source, opt Options) *Facts {
	f := &Facts{}
	ads, adErr := src.Adapters()
	f.DNS, f.adErr = ReadDNS(src, ads, adErr), adErr
	f.Routes = ReadRoutes(src, ads, adErr)
	var p []string
	f.PersistentRoutes, p = ReadPersistentRoutes(src)
	f.Problems = append(f.Problems, p...)
	f.Service, p = ReadService(src, ServiceName)
	f.Problems = append(f.Problems, p...)
	f.Proxy, p = ReadProxy(src)
	f.Problems = append(f.Problems, p...)
	f.Clock, p = ReadClock(ctx, src, opt.Location)
	f.Problems = append(f.Problems, p...)
	f.Image = ReadImage(src)
	return f
}

// AdaptersError is why the adapters could not be read (GetAdaptersAddresses),
// or nil: the DNS client is then not known at all. A saved observation does
// not keep it.
func (f *Facts) AdaptersError() error { return f.adErr }
