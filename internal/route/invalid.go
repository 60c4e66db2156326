package route

import "fmt"

// invalidError is a configuration error: it reads as its message alone and
// matches ErrInvalid with errors.Is.
type invalidError struct{ msg string }

func (e invalidError) Error() string        { return e.msg }
func (e invalidError) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) error {
	return invalidError{fmt.Sprintf(format, args...)}
}
