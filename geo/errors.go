package geo

import (
	"errors"
	"fmt"
)

// Error codes. api maps each to one HTTP status.
const (
	EInvalid         = "invalid_argument"
	ENotFound        = "not_found"
	EConflict        = "conflict"
	EForbidden       = "forbidden"
	EUnauthenticated = "unauthenticated"
	ETooLarge        = "too_large"
	ETooMany         = "too_many_requests"
	EValidation      = "validation_failed" // Details says what failed
	EUnavailable     = "unavailable"       // the database (or another dependency) cannot be reached; retry later
	ETimeout         = "timeout"           // the work took longer than allowed
	EInternal        = "internal"
)

// Error is gridmap's one error type. Message is written for a person and is
// safe to show; Err is the cause, logged only for internal errors.
type Error struct {
	Code    string
	Message string
	Err     error
	Details any // shown to the client beside the message, e.g. a validation report
}

func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return e.Code + ": " + e.Err.Error()
	}
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected cause as an internal error.
func Internal(op string, err error) error {
	if err == nil {
		return nil
	}
	var ge *Error
	if errors.As(err, &ge) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return &Error{Code: EInternal, Err: fmt.Errorf("%s: %w", op, err)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for
// any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var ge *Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return EInternal
}

// ErrorMessage returns the person-readable message of err, or a generic one
// for internal errors.
func ErrorMessage(err error) string {
	var ge *Error
	if errors.As(err, &ge) && ge.Code != EInternal && ge.Message != "" {
		return ge.Message
	}
	return "internal error"
}
