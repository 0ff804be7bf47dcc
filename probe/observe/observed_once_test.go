//go:build linux

package observe

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// notObserved are the fields of Observations no check fills: the run's
// own, the plan (made from the facts) and the records.
var notObserved = []string{"StartedAt", "Root", "Live", "Offline", "OS", "Region", "Plan", "Checks"}

// TestDetailOfEveryObservation: a check's record shows what it observed
// through detailOf, a hand-kept list of fields. For every field a check
// can fill, a value holding only that field must come back as the record's
// detail, and as that very value (a list's first element), not a copy; a
// field added to Observations and forgotten there would show as null.
func TestDetailOfEveryObservation(t *testing.T) {
	typ := reflect.TypeFor[obs.Observations]()
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		if slices.Contains(notObserved, name) {
			continue
		}
		var s obs.Observations
		f := reflect.ValueOf(&s).Elem().Field(i)
		var want uintptr
		switch f.Kind() {
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
			want = f.Pointer()
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
			want = f.Index(0).Addr().Pointer()
		default:
			t.Errorf("%s: a %s, which no check fills; list it in notObserved if that is so", name, f.Type())
			continue
		}
		d := detailOf(&s)
		if d == nil {
			t.Errorf("%s: detailOf gives nil: the check's record would show no detail", name)
			continue
		}
		if v := reflect.ValueOf(d); v.Kind() != reflect.Pointer || v.Pointer() != want {
			t.Errorf("%s: detailOf gives a %T that is not the observed value", name, d)
		}
	}
	if d := detailOf(&obs.Observations{}); d != nil {
		t.Errorf("nothing observed, detail %v; want nil", d)
	}
}

// TestEndpointSourcesOnce: both resolvers return every address, and an
// address is dialled on its first answer, so its sources are completed
// when the phase ends. The endpoint check's record and the observation the
// run keeps must show the same value, with every source.
func TestEndpointSourcesOnce(t *testing.T) {
	l := newLab(t, "127.0.0.3", "127.0.0.1")
	vpce := addrs("127.0.1")
	l.dns([]string{"127.0.0.1", "127.0.0.3"}, []resolvtest.Zone{zone(vpce), zone(vpce)})
	l.endpoints(vpce, l.ca, 0)
	o := Observe(context.Background(), l.cfg)
	if len(o.Net) != len(services6) {
		t.Fatalf("%d endpoint observations, want %d", len(o.Net), len(services6))
	}
	n := 0
	for _, c := range o.Checks {
		if c.Name != obs.CheckEndpoint {
			continue
		}
		n++
		d, ok := c.Detail.(*obs.NetObs)
		if !ok {
			t.Errorf("%s: detail %T (%s %s)", c.Target, c.Detail, c.Status, c.Reason)
			continue
		}
		i := slices.IndexFunc(o.Net, func(k obs.NetObs) bool { return k.Host == d.Host && k.Addr == d.Addr })
		if i < 0 {
			t.Errorf("%s: the run kept no observation of it", c.Target)
			continue
		}
		if !reflect.DeepEqual(*d, o.Net[i]) {
			t.Errorf("%s: the record shows %+v, the run kept %+v", c.Target, *d, o.Net[i])
		}
		for _, src := range []string{"agent", "127.0.0.1", "127.0.0.3"} {
			if !slices.Contains(d.Sources, src) {
				t.Errorf("%s: sources %v lack %s", c.Target, d.Sources, src)
			}
		}
	}
	if n != len(services6) {
		t.Errorf("%d endpoint checks, want %d", n, len(services6))
	}
}
