//go:build !race

package diagnose

// raceBuild is true when the tests run under the race detector.
const raceBuild = false
