package winhost

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Keys and names of the time service and the image state.
const (
	TimeService     = "W32Time"
	KeyW32TimeParms = KeyServices + `\W32Time\Parameters`
	KeySetupState   = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State`
)

// ReadClock reads the Windows Time service's state and configuration and
// `w32tm /query /status` (run with a deadline of CommandTimeout at most),
// whose times are in loc, the host's zone.
func ReadClock(ctx context.Context, src Source, loc *time.Location) (*Clock, []string) {
	c := &Clock{}
	var problems []string
	info, err := src.Service(TimeService)
	switch {
	case errors.Is(err, ErrNotFound):
		c.Checked, c.ServiceState = true, "absent"
	case err != nil:
		c.Reason = "not checked: " + err.Error()
		return c, nil
	default:
		c.Checked, c.ServiceState, c.StartType = true, info.State, startType(info, nil)
	}
	k, err := src.Key(KeyW32TimeParms)
	if err != nil && !errors.Is(err, ErrNotFound) {
		problems = append(problems, "time service parameters not read: "+err.Error())
	}
	c.Type, c.NtpServer = k.Str("Type"), k.Str("NtpServer")
	if c.ServiceState != "running" {
		// w32tm answers only from a running service.
		return c, problems
	}
	cctx, cancel := context.WithTimeout(ctx, CommandTimeout)
	defer cancel()
	out, err := src.Run(cctx, "w32tm", "/query", "/status")
	if err != nil {
		problems = append(problems, "w32tm /query /status: "+firstLine(err.Error()))
		if cctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
			return c, problems
		}
	}
	st, perr := ParseW32tmStatus(out, loc)
	if perr != nil {
		problems = append(problems, "w32tm /query /status: "+perr.Error())
	}
	c.Source, c.LastSync = st.Source, st.LastSync
	return c, problems
}

// W32tmStatus is what ParseW32tmStatus reads of `w32tm /query /status`.
type W32tmStatus struct {
	Source   string
	LastSync time.Time // zero when it never synced ("unspecified")
}

// w32tmLayouts are the time formats w32tm prints Last Successful Sync Time
// in: the host's short date and long time, of which these are the US
// English and ISO forms.
var w32tmLayouts = []string{"1/2/2006 3:04:05 PM", "2006-01-02 15:04:05", "2006/01/02 15:04:05"}

// ParseW32tmStatus reads the "Source:" and "Last Successful Sync Time:"
// lines of `w32tm /query /status` (English output). A time in a format it
// does not know is an error, never a guess.
func ParseW32tmStatus(b []byte, loc *time.Location) (W32tmStatus, error) {
	var st W32tmStatus
	if loc == nil {
		loc = time.Local
	}
	var errs []string
	seen := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(name) {
		case "Source":
			st.Source, seen = val, true
		case "Last Successful Sync Time":
			seen = true
			if strings.EqualFold(val, "unspecified") || val == "" {
				continue
			}
			t, ok := parseW32tmTime(val, loc)
			if !ok {
				errs = append(errs, fmt.Sprintf("Last Successful Sync Time %q in an unknown format", val))
				continue
			}
			st.LastSync = t
		}
	}
	if !seen {
		errs = append(errs, "no Source or Last Successful Sync Time line")
	}
	if len(errs) > 0 {
		return st, errors.New(strings.Join(errs, "; "))
	}
	return st, nil
}

func parseW32tmTime(s string, loc *time.Location) (time.Time, bool) {
	for _, l := range w32tmLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ReadImage reads the sysprep image state.
func ReadImage(src Source) *Image {
	k, err := src.Key(KeySetupState)
	if err != nil {
		return &Image{Reason: "not checked: " + err.Error()}
	}
	st := k.Str("ImageState")
	if st == "" {
		return &Image{Reason: `not checked: Setup\State has no ImageState`}
	}
	return &Image{Checked: true, State: st}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
