package diagnose

import (
	"fmt"
	"testing"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/internal/probetest"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// wideWorld is a healthy world whose plan, answers and network records are
// copied n times under other host names: far more endpoints than the
// planner makes, as a hostile --observations file may hold.
func wideWorld(n int) *obs.Observations {
	s := probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").
		Answer("10.0.0.2", errclass.None, []string{"10.0.1.X"}).
		Answer("169.254.169.253", errclass.None, []string{"10.0.1.X"}).
		Agent("10.0.0.2", errclass.None, []string{"10.0.1.X"}).
		Net("10.0.1.X", "ok")
	o := s.O
	eps, dns, adns, nets := o.Plan.Endpoints, o.DNS, o.AgentDNS, o.Net
	for i := 1; i < n; i++ {
		host := func(h string) string { return fmt.Sprintf("c%d.%s", i, h) }
		for _, e := range eps {
			e.Host = host(e.Host)
			o.Plan.Endpoints = append(o.Plan.Endpoints, e)
		}
		for _, d := range dns {
			d.Host = host(d.Host)
			o.DNS = append(o.DNS, d)
		}
		for _, d := range adns {
			d.Host = host(d.Host)
			o.AgentDNS = append(o.AgentDNS, d)
		}
		for _, x := range nets {
			x.Host = host(x.Host)
			o.Net = append(o.Net, x)
		}
	}
	return o
}

// BenchmarkFinishWide diagnoses worlds of growing width; the time per
// endpoint should stay flat: the views index the records by host, once a
// diagnosis.
func BenchmarkFinishWide(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		o := wideWorld(n)
		b.Run(fmt.Sprintf("copies=%d", n), func(b *testing.B) {
			for range b.N {
				Finish(o, 0)
			}
		})
	}
}
