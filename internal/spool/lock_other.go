//go:build !unix

package spool

import (
	"fmt"
	"os"
)

// lockDir creates the data directory; other systems get no lock.
func lockDir(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating the spool directory: %w", err)
	}
	return func() {}, nil
}
