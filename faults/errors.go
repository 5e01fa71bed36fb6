package faults

import (
	"errors"
	"strconv"
)

var (
	// ErrUnknownKind is wrapped by errors about a name or number that is not a Kind.
	ErrUnknownKind = errors.New("unknown fault kind")
	// ErrSyntax is wrapped by errors about malformed plan text.
	ErrSyntax = errors.New("syntax error")
	// ErrInvalid is wrapped by errors about a well-formed value that breaks a rule:
	// a parameter that does not apply to its kind, or a value out of range.
	ErrInvalid = errors.New("invalid fault plan")
)

// ParseError reports a problem on one line of plan text.
type ParseError struct {
	Line int   // 1-based line number
	Err  error // wraps ErrSyntax, ErrUnknownKind or ErrInvalid
}

// Error returns "line N: " followed by the cause.
func (e *ParseError) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }

// kindErr is an error with its own message that still matches a sentinel
// through errors.Is.
type kindErr struct {
	sentinel error
	msg      string
}

func (e *kindErr) Error() string { return e.msg }
func (e *kindErr) Unwrap() error { return e.sentinel }

func syntaxErr(msg string) error  { return &kindErr{ErrSyntax, msg} }
func invalidErr(msg string) error { return &kindErr{ErrInvalid, msg} }
