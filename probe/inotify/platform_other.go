//go:build !windows

package inotify

// notHere is empty where inotify is read (Linux; elsewhere the reads fail
// and say so).
const notHere = ""
