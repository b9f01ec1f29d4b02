package data

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"gridmap/geo"
)

// dbErr is DBError; the short name the methods of this package use.
func dbErr(op string, err error) error { return DBError(op, err) }

// Messages a person can act on for the constraints of migrations/, by
// constraint name; other violations get the message of their SQLSTATE.
var constraintMessages = map[string]string{
	"area_code_key":             "the area code is already used (codes are never reused, even after retirement); choose another code",
	"building_code_key":         "the building code is already used; choose another code",
	"app_user_name_key":         "an account with this name already exists; choose another name",
	"app_user_name_check":       "an account name is 1 to 64 letters, digits or . _ @ -",
	"level_pkey":                "a level with this key already exists",
	"level_hierarchy_depth_key": "the hierarchy already has a level at this depth",
	"area_version_current_idx":  "the area was changed at the same time by someone else; reload it and try again",
	"duty_role_check":           "role is not one of the known roles",
	"duty_check":                "a duty is either for an area or for a building, not both and not neither",
	"duty_check1":               "a duty cannot end before it begins",
	"area_version_check":        "a version cannot end before it begins",
}

// DBError is the one mapping of database errors to geo errors, for this
// package and tiles/postgis. The client sees a message written here, never
// PostgreSQL's text (that stays in the cause, logged for internal errors):
//   - no rows: ENotFound;
//   - constraint violations and values PostgreSQL cannot take (bytes that are
//     not text, numbers and dates out of range, unreadable geometry):
//     EInvalid or EConflict, saying what to fix;
//   - a statement cancelled by the statement timeout (57014), or a deadline
//     that passed: ETimeout;
//   - a database that cannot be reached (connection refused, reset or lost,
//     server shutting down, too many connections): EUnavailable;
//   - a cancelled context stays a context error (the client went away);
//   - anything else: EInternal.
func DBError(op string, err error) error {
	if err == nil {
		return nil
	}
	wrapped := fmt.Errorf("%s: %w", op, err)
	var ge *geo.Error
	if errors.As(err, &ge) {
		return wrapped
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &geo.Error{Code: geo.ENotFound, Message: "not found", Err: wrapped}
	}
	if errors.Is(err, context.Canceled) {
		return wrapped
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pgError(pe, wrapped)
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) { // before the deadline: a connect timeout is an unreachable database
		return &geo.Error{Code: geo.EUnavailable, Message: "the server cannot reach its database; try again shortly", Err: wrapped}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &geo.Error{Code: geo.ETimeout, Message: "the database did not answer in time; try again, or ask for less", Err: wrapped}
	}
	if unreachable(err) {
		return &geo.Error{Code: geo.EUnavailable, Message: "the server cannot reach its database; try again shortly", Err: wrapped}
	}
	return geo.Internal(op, err)
}

func pgError(pe *pgconn.PgError, wrapped error) error {
	e := func(code, msg string) error { return &geo.Error{Code: code, Message: msg, Err: wrapped} }
	if msg, ok := constraintMessages[pe.ConstraintName]; ok {
		code := geo.EInvalid
		if pe.Code == "23505" || pe.Code == "23P01" {
			code = geo.EConflict
		}
		return e(code, msg)
	}
	switch pe.Code {
	case "23505":
		return e(geo.EConflict, "a value that must be unique is already used; choose another")
	case "23P01":
		return e(geo.EConflict, "this overlaps with something that may not overlap it")
	case "23503":
		return e(geo.EInvalid, "this refers to something that does not exist, or something still refers to it")
	case "23502":
		if pe.ColumnName != "" {
			return e(geo.EInvalid, pe.ColumnName+" is required")
		}
		return e(geo.EInvalid, "a required value is missing")
	case "23514":
		return e(geo.EInvalid, "a value is outside what is allowed")
	case "22021", "22P05":
		return e(geo.EInvalid, "text must be valid UTF-8 without NUL characters")
	case "22001":
		return e(geo.EInvalid, "a text is longer than allowed")
	case "22003":
		return e(geo.EInvalid, "a number is out of range")
	case "22007", "22008":
		return e(geo.EInvalid, "a date or time is malformed or out of range")
	case "22P02", "22023":
		return e(geo.EInvalid, "a value could not be read; check numbers, dates and codes")
	case "XX000":
		// What PostGIS raises for geometry it cannot parse or process.
		return e(geo.EInvalid, "the geometry could not be processed; check that it is a valid polygon in lon/lat degrees")
	case "40001", "40P01":
		return e(geo.EConflict, "a change made at the same time got in the way; try again")
	case "57014":
		return e(geo.ETimeout, "the database took too long to answer; try again, or ask for less")
	case "57P01", "57P02", "57P03", "53300":
		return e(geo.EUnavailable, "the server cannot reach its database; try again shortly")
	}
	if len(pe.Code) == 5 && pe.Code[:2] == "08" { // connection exception
		return e(geo.EUnavailable, "the server cannot reach its database; try again shortly")
	}
	if len(pe.Code) == 5 && pe.Code[:2] == "53" { // insufficient resources
		return e(geo.EUnavailable, "the database is overloaded; try again shortly")
	}
	return &geo.Error{Code: geo.EInternal, Err: wrapped}
}

// unreachable reports whether err says the database could not be reached or
// the connection to it was lost.
func unreachable(err error) bool {
	var ne net.Error
	switch {
	case errors.As(err, &ne):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	return pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}
