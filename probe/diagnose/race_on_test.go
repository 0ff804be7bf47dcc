//go:build race

package diagnose

// raceBuild is true when the tests run under the race detector, which
// slows the pure diagnosis property test about fifteenfold.
const raceBuild = true
