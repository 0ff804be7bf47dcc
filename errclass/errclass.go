// Package errclass holds the closed set of error classes that every check
// records next to the socket or file it touched. Diagnosis switches on these
// classes and never on error strings (docs/ARCHITECTURE.md, "Data flow").
package errclass

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"os"
)

// Class is one member of the closed set of error classes. The zero value,
// None, means the operation succeeded.
type Class string

// The classes. Their string values appear in JSON reports and are part of
// the report contract.
const (
	None         Class = ""              // success
	Timeout      Class = "timeout"       // no answer before the attempt's deadline
	Refused      Class = "refused"       // TCP RST / ECONNREFUSED
	Unreachable  Class = "unreachable"   // no route, network or host unreachable
	NXDomain     Class = "nxdomain"      // DNS: the name does not exist
	NoData       Class = "nodata"        // DNS: NOERROR with no records of the asked type
	ServFail     Class = "servfail"      // DNS: SERVFAIL
	DNSRefused   Class = "dns-refused"   // DNS: REFUSED rcode
	DNSError     Class = "dns-error"     // DNS: any other rcode, or a malformed reply
	TLSUntrusted Class = "tls-untrusted" // the chain does not verify against the roots in use
	TLSFailed    Class = "tls-failed"    // the handshake failed for another reason
	HTTPStatus   Class = "http-status"   // an HTTP answer with an unexpected status
	NotFound     Class = "not-found"     // a file, path or resource is absent
	Permission   Class = "permission"    // EACCES/EPERM: needs more privilege
	Malformed    Class = "malformed"     // the input could not be parsed
	Canceled     Class = "canceled"      // the run was cancelled before the attempt ended
	Other        Class = "other"         // anything not above; the detail carries the text
)

// All lists every class, for validation and tests.
var All = []Class{None, Timeout, Refused, Unreachable, NXDomain, NoData, ServFail,
	DNSRefused, DNSError, TLSUntrusted, TLSFailed, HTTPStatus, NotFound, Permission,
	Malformed, Canceled, Other}

// Valid reports whether c is a member of the closed set.
func (c Class) Valid() bool {
	for _, k := range All {
		if c == k {
			return true
		}
	}
	return false
}

// Of classifies a Go error from the net, tls, x509, os or context packages.
// It returns None for a nil error and Other when no rule matches. Callers
// that know more (a DNS rcode, an HTTP status) set the class themselves.
func Of(err error) Class {
	if err == nil {
		return None
	}
	var (
		unknownAuth x509.UnknownAuthorityError
		certInvalid x509.CertificateInvalidError
		hostErr     x509.HostnameError
		verifyErr   *tls.CertificateVerificationError
		recordErr   tls.RecordHeaderError
		netErr      net.Error
	)
	switch {
	case errors.As(err, &verifyErr), errors.As(err, &unknownAuth),
		errors.As(err, &certInvalid), errors.As(err, &hostErr):
		return TLSUntrusted
	case errors.As(err, &recordErr):
		return TLSFailed
	case isAny(err, refusedErrs):
		return Refused
	case isAny(err, unreachableErrs):
		return Unreachable
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		isAny(err, timeoutErrs):
		return Timeout
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, fs.ErrNotExist):
		return NotFound
	case errors.Is(err, fs.ErrPermission):
		return Permission
	case errors.As(err, &netErr) && netErr.Timeout():
		return Timeout
	}
	return Other
}

// isAny reports whether err is one of targets (errors.Is).
func isAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
