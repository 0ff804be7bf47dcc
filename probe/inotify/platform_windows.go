package inotify

// notHere says why there is nothing to read on this system: inotify and
// /proc are Linux's, and Windows has neither.
const notHere = "not checked: inotify and /proc are Linux's; there are none on Windows"
