package main

import "os"

// currentUmask is 0 on Windows, which has no umask: a file's mode there is
// only its read-only bit, and who may read it is the directory's ACL's
// business, which the new file inherits.
func currentUmask() os.FileMode { return 0 }
