package journal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/journal/internal/logset"
)

// BenchmarkScan scans a generated rolled set and reports MB/s and the
// process's peak RSS. SSMPROBE_BENCH_DIR names a set made by
// `go run ./journal/internal/loggen -out DIR` (the full 180 MB); without it
// a 6 × 6 MB set is generated in a temporary directory.
func BenchmarkScan(b *testing.B) {
	dir := os.Getenv("SSMPROBE_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
		if _, err := logset.Generate(dir, logset.Config{RollBytes: 6_000_000, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	var size int64
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			size += st.Size()
		}
	}
	b.SetBytes(size)
	b.ResetTimer()
	var res *Result
	for b.Loop() {
		res = Scan(context.Background(), Options{Paths: []string{dir}, Location: time.UTC})
	}
	b.StopTimer()
	if res.BytesRead != size || len(res.Events) == 0 {
		b.Fatalf("read %d of %d bytes, %d kinds", res.BytesRead, size, len(res.Events))
	}
	if hwm := peakRSSKiB(); hwm > 0 {
		b.ReportMetric(float64(hwm)/1024, "peak-RSS-MiB")
	}
}

// peakRSSKiB reads VmHWM from /proc/self/status (proc(5)); 0 when unknown.
func peakRSSKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// BenchmarkFindURLs runs findURLs on 8 and 64 KiB lines of crafted units:
// the cost per byte must not grow with the line (findURLs once scanned to
// the end of the text for every "://"; TestFindURLsLinear).
func BenchmarkFindURLs(b *testing.B) {
	for _, unit := range []string{"x://", "http://", "https://a "} {
		for _, size := range []int{8 << 10, 64 << 10} {
			text := []byte(strings.Repeat(unit, size/len(unit)))
			b.Run(fmt.Sprintf("%s/%d", strings.TrimSpace(unit), size), func(b *testing.B) {
				b.SetBytes(int64(len(text)))
				for i := 0; i < b.N; i++ {
					findURLs(text, 8)
				}
			})
		}
	}
}
