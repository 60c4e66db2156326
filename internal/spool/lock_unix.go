//go:build unix

package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir takes an exclusive lock on the data directory, so that a second
// edgehog (or the spool command) cannot open the same store while it is in
// use. The lock goes with the process, kill -9 included.
func lockDir(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating the spool directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "edgehog.lock"), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening the spool lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking the spool directory %s (is another edgehog using it?): %w", dir, err)
	}
	return func() { f.Close() }, nil
}
