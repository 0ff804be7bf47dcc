//go:build !windows

package observe

import "github.com/ssm-probe/ssm-probe/probe/winhost"

// defaultWindowsSource is nil off Windows: the Linux checks run.
func defaultWindowsSource() winhost.Source { return nil }
