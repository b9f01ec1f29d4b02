package data

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/paulmach/orb"

	"gridmap/geo"
)

// The code allocator, one for imports and edits: table area_code (migration
// 005) holds every code an area ever had, as its primary key, written in the
// transaction that gives the code out. A code is free when it is not in it;
// codes compare by bytes (COLLATE "C").

const qCodeTaken = `SELECT EXISTS (SELECT 1 FROM area_code WHERE code = $1)`

const qClaimCode = `INSERT INTO area_code (code, area_id, change_id) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING`

const qCodesWithPrefix = `SELECT code FROM area_code WHERE code LIKE $1 ESCAPE '\'`

// errCodeUsed is the conflict for a code that is or was in use.
func errCodeUsed(code string) error {
	return &geo.Error{Code: geo.EConflict, Message: fmt.Sprintf("code %s is or was in use; codes are never reused", code),
		Details: map[string]any{"code": code}}
}

// checkCodeFree is a conflict when code was ever used.
func checkCodeFree(ctx context.Context, tx pgx.Tx, code string) error {
	var used bool
	if err := tx.QueryRow(ctx, qCodeTaken, code).Scan(&used); err != nil {
		return err
	}
	if used {
		return errCodeUsed(code)
	}
	return nil
}

// claimCode records that area has code, for good. A transaction that claimed
// the same code first wins; this one gets a conflict.
func claimCode(ctx context.Context, tx pgx.Tx, code string, area, change int64) error {
	tag, err := tx.Exec(ctx, qClaimCode, code, area, change)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return errCodeUsed(code)
	}
	return nil
}

// isCodeClash reports a unique violation on a code (area.code or area_code):
// another transaction gave the same code out at the same moment.
func isCodeClash(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && (pe.ConstraintName == "area_code_key" || pe.ConstraintName == "area_code_pkey")
}

// usedCodes lists every code ever used that starts with prefix.
func usedCodes(ctx context.Context, tx pgx.Tx, prefix string) ([]string, error) {
	rows, err := tx.Query(ctx, qCodesWithPrefix, escapeLike(prefix)+"%")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// nextCodes returns len(pts) fresh codes under parent code, for parts at pts
// (numbered west→east, then north→south in rows band degrees high): under a
// 12-digit community code the 15-digit grid codes, elsewhere parent-NNN.
func nextCodes(ctx context.Context, tx pgx.Tx, parent string, pts []orb.Point, band float64) ([]string, error) {
	used, err := usedCodes(ctx, tx, parent)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(pts))
	stat := geo.ValidateStatCode(parent) == nil
	next := nextDashSequence(parent, used)
	if stat {
		if next, err = geo.NextGridSequence(parent, used); err != nil {
			return nil, err
		}
	}
	for _, i := range geo.SequenceOrder(pts, band) {
		if stat {
			if out[i], err = geo.GridCode(parent, next); err != nil {
				return nil, err
			}
		} else {
			out[i] = fmt.Sprintf("%s-%03d", parent, next)
		}
		next++
	}
	return out, nil
}
