//go:build windows

package observe

import "github.com/ssm-probe/ssm-probe/probe/winhost"

// defaultWindowsSource is the running Windows system.
func defaultWindowsSource() winhost.Source { return winhost.SystemSource() }
