package winhost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Recorded is a Source that replays a host's answers, read from JSON
// (testdata/hosts/*.json): every value a Source can answer, and the errors
// it gave. What it does not hold is not found, as on a host without it.
type Recorded struct {
	Comment      string                     `json:"comment,omitempty"`
	Env          map[string]string          `json:"env,omitempty"`
	Registry     map[string]RecordedKey     `json:"registry,omitempty"` // by path, compared without case
	AdapterTable *RecordedList[Adapter]     `json:"adapters,omitempty"`
	RouteTable   *RecordedList[ForwardRow]  `json:"routes,omitempty"`
	Services     map[string]RecordedService `json:"services,omitempty"`
	Files        map[string]RecordedFile    `json:"files,omitempty"`    // by path, compared without case
	Commands     map[string]RecordedCommand `json:"commands,omitempty"` // by "name arg…"
}

// RecordedKey is a registry key, or the error opening it gave.
type RecordedKey struct {
	Key
	Error string `json:"error,omitempty"`
}

// RecordedList is a table, or the error asking for it gave.
type RecordedList[T any] struct {
	Rows  []T    `json:"rows,omitempty"`
	Error string `json:"error,omitempty"`
}

// RecordedService is a service, or the error opening it gave.
type RecordedService struct {
	ServiceInfo
	Error string `json:"error,omitempty"`
}

// RecordedFile is a file's text, or the error reading it gave.
type RecordedFile struct {
	Text  string `json:"text,omitempty"`
	Error string `json:"error,omitempty"`
}

// RecordedCommand is a command's output and error.
type RecordedCommand struct {
	Output string `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
}

var _ Source = (*Recorded)(nil)

// LoadRecorded reads a recorded host.
func LoadRecorded(path string) (*Recorded, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseRecorded(b)
}

// ParseRecorded parses a recorded host, refusing unknown fields so that a
// misspelt key in testdata fails rather than reads as absent.
func ParseRecorded(b []byte) (*Recorded, error) {
	var r Recorded
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

// recordedErr turns a recorded error back into the error a Source gives:
// "not found" and "access denied" (as a prefix) wrap ErrNotFound and
// ErrAccessDenied, "timeout" is context.DeadlineExceeded.
func recordedErr(what, s string) error {
	switch {
	case s == "":
		return nil
	case strings.HasPrefix(s, "not found"):
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	case strings.HasPrefix(s, "access denied"):
		return fmt.Errorf("%s: %w", what, ErrAccessDenied)
	case s == "timeout":
		return fmt.Errorf("%s: %w", what, context.DeadlineExceeded)
	}
	return fmt.Errorf("%s: %s", what, s)
}

// lookupFold finds a map entry by a key compared without case.
func lookupFold[T any](m map[string]T, key string) (T, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	var zero T
	return zero, false
}

// Key returns the recorded key at path.
func (r *Recorded) Key(path string) (*Key, error) {
	k, ok := lookupFold(r.Registry, path)
	if !ok {
		return nil, fmt.Errorf("%s: %w", path, ErrNotFound)
	}
	if k.Error != "" {
		return nil, recordedErr(path, k.Error)
	}
	out := k.Key
	return &out, nil
}

// Adapters returns the recorded adapters.
func (r *Recorded) Adapters() ([]Adapter, error) {
	if r.AdapterTable == nil {
		return nil, nil
	}
	return r.AdapterTable.Rows, recordedErr("GetAdaptersAddresses", r.AdapterTable.Error)
}

// Routes returns the recorded forward table.
func (r *Recorded) Routes() ([]ForwardRow, error) {
	if r.RouteTable == nil {
		return nil, nil
	}
	return r.RouteTable.Rows, recordedErr("GetIpForwardTable2", r.RouteTable.Error)
}

// Service returns the recorded service.
func (r *Recorded) Service(name string) (*ServiceInfo, error) {
	s, ok := lookupFold(r.Services, name)
	if !ok {
		return nil, fmt.Errorf("OpenService %s: %w", name, ErrNotFound)
	}
	if s.Error != "" {
		return nil, recordedErr("OpenService "+name, s.Error)
	}
	info := s.ServiceInfo
	return &info, nil
}

// ReadFile returns at most max bytes of the recorded file.
func (r *Recorded) ReadFile(path string, max int64) ([]byte, bool, error) {
	f, ok := lookupFold(r.Files, path)
	if !ok {
		return nil, false, fmt.Errorf("%s: %w", path, ErrNotFound)
	}
	if f.Error != "" {
		return nil, false, recordedErr(path, f.Error)
	}
	b := []byte(f.Text)
	if int64(len(b)) > max {
		return b[:max], true, nil
	}
	return b, false, nil
}

// ReadTail returns the last max bytes of the recorded file.
func (r *Recorded) ReadTail(path string, max int64) ([]byte, error) {
	b, _, err := r.ReadFile(path, 1<<40)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		b = b[int64(len(b))-max:]
	}
	return b, nil
}

// Run returns the recorded command's output; a command not recorded is
// not found. It honours ctx as a real command would.
func (r *Recorded) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	line := strings.Join(append([]string{name}, args...), " ")
	c, ok := lookupFold(r.Commands, line)
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	out := []byte(c.Output)
	if len(out) > MaxCommandBytes {
		out = out[:MaxCommandBytes]
	}
	if c.Error == "timeout" {
		return out, context.DeadlineExceeded
	}
	if c.Error != "" {
		return out, errors.New(c.Error)
	}
	return out, nil
}

// Getenv returns the recorded environment variable.
func (r *Recorded) Getenv(name string) string {
	v, _ := lookupFold(r.Env, name)
	return v
}
