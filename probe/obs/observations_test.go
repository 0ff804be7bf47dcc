package obs_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// runFields describe the run rather than hold what a check observed:
// Observe sets them once from the configuration, and Add leaves them to the
// value it merges into.
var runFields = []string{"StartedAt", "Root", "Live", "Offline", "OS", "Region"}

// filled returns an Observations whose every field is set to a value that
// is not its zero value, by reflection, so that a field added to the type
// is filled without this test being touched.
func filled(t *testing.T) obs.Observations {
	t.Helper()
	var o obs.Observations
	v := reflect.ValueOf(&o).Elem()
	for i := range v.NumField() {
		f, sf := v.Field(i), v.Type().Field(i)
		switch {
		case f.Type() == reflect.TypeFor[time.Time]():
			f.Set(reflect.ValueOf(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)))
		case f.Kind() == reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		case f.Kind() == reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 2, 2))
		case f.Kind() == reflect.String:
			f.SetString("x")
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		default:
			t.Fatalf("field %s: no non-zero value for a %s here; add one", sf.Name, f.Type())
		}
		if f.IsZero() {
			t.Fatalf("field %s is still zero", sf.Name)
		}
	}
	return o
}

// TestAddKeepsEveryField: Add is a hand-kept list of fields, so a field
// added to Observations and forgotten there would be dropped from every
// run without an error. Every field of a value with all of them set must
// arrive in an empty value (the same pointer, the same list), except the
// run's own fields, which Add must leave alone.
func TestAddKeepsEveryField(t *testing.T) {
	p := filled(t)
	var o obs.Observations
	o.Add(p)
	got, want := reflect.ValueOf(o), reflect.ValueOf(p)
	for i := range got.NumField() {
		name, g, w := got.Type().Field(i).Name, got.Field(i), want.Field(i)
		switch {
		case slices.Contains(runFields, name):
			if !g.IsZero() {
				t.Errorf("%s: Add set a field of the run: %v", name, g)
			}
		case g.IsZero():
			t.Errorf("%s: Add dropped it", name)
		case g.Kind() == reflect.Pointer && g.Pointer() != w.Pointer():
			t.Errorf("%s: Add did not keep the observed value", name)
		case !reflect.DeepEqual(g.Interface(), w.Interface()):
			t.Errorf("%s: got %v, want %v", name, g, w)
		}
	}
	for _, name := range runFields {
		if _, ok := got.Type().FieldByName(name); !ok {
			t.Errorf("runFields names %s, which Observations has no more", name)
		}
	}
}

// TestAddMerges: Add appends lists and replaces only the facts the added
// value holds; neither value's lists are written.
func TestAddMerges(t *testing.T) {
	p := filled(t)
	o := filled(t)
	before := o
	o.Add(p)
	if len(o.DNS) != 4 || len(o.Net) != 4 || len(o.Checks) != 4 {
		t.Errorf("lists not appended: %d DNS, %d net, %d checks", len(o.DNS), len(o.Net), len(o.Checks))
	}
	if o.Agent != p.Agent || o.Routes != p.Routes {
		t.Error("the added facts did not replace the old ones")
	}
	o.Add(obs.Observations{})
	if o.Agent != p.Agent || len(o.Net) != 4 {
		t.Error("an empty value changed what was there")
	}
	o.DNS[0].Host = "written"
	if before.DNS[0].Host != "" || p.DNS[0].Host != "" {
		t.Error("Add shares a list with a value it was given")
	}
}
