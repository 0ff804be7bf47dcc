// Command loggen writes a realistic rolled SSM Agent log set for the scan
// benchmark and the comparison with grep:
//
//	go run ./journal/internal/loggen -out DIR
//
// By default: amazon-ssm-agent.log.3 … .7 and the live file, 30,000,000
// bytes each (180 MB), about 0.1% matching lines.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ssm-probe/ssm-probe/journal/internal/logset"
)

func main() {
	out := flag.String("out", "", "directory to write the log set into (required)")
	rolls := flag.Int("rolls", 5, "number of rolled files besides the live file")
	size := flag.Int64("size", 30_000_000, "bytes per file")
	rate := flag.Float64("match-rate", 0.001, "fraction of matching lines")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "loggen: -out DIR is required")
		os.Exit(64)
	}
	n, err := logset.Generate(*out, logset.Config{Rolls: *rolls, RollBytes: *size, MatchRate: *rate, Seed: *seed})
	if err != nil {
		fmt.Fprintln(os.Stderr, "loggen:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d bytes to %s\n", n, *out)
}
