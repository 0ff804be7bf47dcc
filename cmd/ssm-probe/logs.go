package main

import (
	"fmt"
	"io"
)

func cmdLogs(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "ssm-probe logs: not built yet")
	return exitUnknown
}
