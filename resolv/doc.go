// Package resolv reads a host's name-resolution configuration and asks DNS
// servers directly, so the probe can say which answer the SSM agent gets and
// why.
//
// It covers:
//
//   - resolv.conf (resolv.conf(5)): every nameserver, search and domain line
//     and option is kept, and every problem (unknown option, malformed line,
//     more than three nameservers, missing or unreadable file) is recorded
//     as a Problem instead of being dropped the way glibc, Go's net package
//     and miekg/dns's ClientConfigFromFile do;
//   - the systemd-resolved stub (127.0.0.53, 127.0.0.54) and its upstream
//     file /run/systemd/resolve/resolv.conf (systemd-resolved.service(8));
//   - /etc/hosts (hosts(5)) and the hosts: line of /etc/nsswitch.conf
//     (nsswitch.conf(5));
//   - the AmazonProvidedDNS addresses of a VPC;
//   - Query, one question to one server with miekg/dns, classified with
//     probe/errclass;
//   - AgentLookup, which reproduces the order of Go's pure-Go resolver (the
//     SSM agent is a Go program built without cgo) and reports which source
//     answered.
//
// Every file read is capped at MaxFileSize bytes and refuses non-regular
// files (FIFOs, devices), so a hostile root never blocks or exhausts the
// probe. Every network operation carries an explicit deadline.
package resolv
