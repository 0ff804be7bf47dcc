// Package logset writes a realistic rolled SSM Agent log set for benchmarks:
// amazon-ssm-agent.log.N … plus the live file, lines in the agent's format
// (docs/AGENT-FACTS.md, "Log line formats"), about one matching entry per
// thousand lines, some of them multi-line.
package logset

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Config says what to write.
type Config struct {
	Rolls     int       // rolled files (default 5)
	FirstRoll int       // N of the oldest roll (default 3, so numbering does not start at 1)
	RollBytes int64     // size of each file, live file included (default 30,000,000, the agent's roll size)
	MatchRate float64   // fraction of lines that the catalog matches (default 0.001)
	Start     time.Time // time of the first line (default 2024-03-01 00:00:00 UTC)
	Seed      uint64    // random seed; the same config writes the same bytes
}

func (c *Config) defaults() {
	if c.Rolls <= 0 {
		c.Rolls = 5
	}
	if c.FirstRoll <= 0 {
		c.FirstRoll = 3
	}
	if c.RollBytes <= 0 {
		c.RollBytes = 30_000_000
	}
	if c.MatchRate <= 0 {
		c.MatchRate = 0.001
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	}
}

// background lines: what a healthy agent writes all day.
var background = []string{
	"INFO [ssm-agent-worker] [MessageService] [MessageHandler] Starting to process %d messages",
	"DEBUG [ssm-agent-worker] [MessageService] [MGSInteractor] [MGSInteractor] Sending acknowledge message for message id %d",
	"INFO [ssm-agent-worker] [HealthCheck] HealthCheck reporting agent health.",
	"DEBUG [ssm-agent-worker] [MessageService] [MessageHandler] [ProcessorWrapper] [CommandProcessor] sent reply for message %d",
	"INFO [ssm-agent-worker] [MessageService] [MGSInteractor] [MGSInteractor] listening reply for %d",
	"DEBUG [ssm-agent-worker] [instanceID=i-0123456789abcdef0] [LongRunningPluginsManager] There are no long running plugins currently getting executed - skipping their healthcheck",
	"INFO [ssm-agent-worker] [MessageService] [MessageHandler] [SessionWorkerProcess] process %d exited with code 0",
	"DEBUG [ssm-agent-worker] [StartupProcessor] [Upstream] [InvokeRequest] sending request %d to ssm.us-east-1.amazonaws.com with payload size 1432 bytes",
	"INFO [ssm-session-worker] [alice-0a1b2c3d4e5f67890] [SessionDataChannel] [DataBackend] [pluginName=Standard_Stream] Processing stream data message sequence %d",
	"DEBUG [ssm-agent-worker] [MessageService] [MGSInteractor] [MGSInteractor] [ControlChannel] received pong from %d, latency 12ms, channel healthy and ready for more work today",
}

// matching entries, some spanning lines.
var matching = []string{
	"ERROR [ssm-agent-worker] [HealthCheck] error when calling AWS APIs. error details - RequestError: send request failed\ncaused by: Post \"https://ssm.us-east-1.amazonaws.com/\": dial tcp 10.0.1.%d:443: i/o timeout",
	"INFO [ssm-agent-worker] [HealthCheck] increasing error count by %d",
	"ERROR [ssm-agent-worker] [MessageService] [MGSInteractor] Failed to get controlchannel token, error: dial tcp: lookup ssmmessages.us-east-1.amazonaws.com on 10.0.0.2:53: no such host (%d)",
	"ERROR [ssm-session-worker] [alice-%d] [DataBackend] [pluginName=Standard_Stream] HTTP HEAD request failed: url=https://logs-bucket.s3.us-east-1.amazonaws.com/, error=Head \"https://logs-bucket.s3.us-east-1.amazonaws.com/\": dial tcp 52.219.16.11:443: i/o timeout",
	"ERROR [ssm-agent-worker] [MessagingDeliveryService] GetMessages Error: AccessDeniedException: not authorized (%d)\n\tstatus code: 400, request id: 9c7d3a51-0f4e-4a36-a1cf-56b1f4a1f1d2",
}

// Generate writes the set into dir (created if needed) and returns the
// total bytes written.
func Generate(dir string, c Config) (int64, error) {
	c.defaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	r := rand.New(rand.NewPCG(c.Seed, 0x55d))
	t := c.Start
	var total int64
	for i := 0; i <= c.Rolls; i++ {
		name := "amazon-ssm-agent.log"
		if i < c.Rolls {
			name += "." + strconv.Itoa(c.FirstRoll+i)
		}
		n, err := writeFile(filepath.Join(dir, name), c, r, &t)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func writeFile(path string, c Config, r *rand.Rand, t *time.Time) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var n int64
	var line []byte
	for n < c.RollBytes {
		*t = t.Add(time.Duration(r.IntN(40)) * time.Millisecond)
		line = t.AppendFormat(line[:0], "2006-01-02 15:04:05.0000 ")
		tmpl := background[r.IntN(len(background))]
		if r.Float64() < c.MatchRate {
			tmpl = matching[r.IntN(len(matching))]
		}
		line = fmt.Appendf(line, tmpl, r.IntN(100000))
		line = append(line, '\n')
		m, err := w.Write(line)
		n += int64(m)
		if err != nil {
			f.Close()
			return n, err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return n, err
	}
	return n, f.Close()
}
