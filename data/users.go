package data

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/argon2"

	"gridmap/geo"
)

// Argon2id parameters (OWASP's minimum recommendation: 19 MiB, 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword checks a password against a PHC argon2id hash in constant time.
func VerifyPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// AuthService keeps staff accounts, sessions and API tokens in PostgreSQL.
type AuthService struct {
	db *DB
	// dummyHash is verified against when a name is unknown, so that unknown
	// names and wrong passwords take about the same time.
	dummyHash string
}

// NewAuthService returns an AuthService on db.
func NewAuthService(db *DB) *AuthService {
	h, _ := HashPassword(randomToken())
	return &AuthService{db: db, dummyHash: h}
}

var _ geo.AuthService = (*AuthService)(nil)

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

const qCreateUser = `
INSERT INTO app_user (name, password_hash, role, scope_area_id)
VALUES ($1, $2, $3, (SELECT id FROM area WHERE code = nullif($4, '') AND retired_at IS NULL))
RETURNING id, coalesce(scope_area_id, 0)`

// CreateUser adds an account; passwords must be at least 10 characters.
func (s *AuthService) CreateUser(ctx context.Context, u geo.NewUser) (*geo.User, error) {
	if !u.Role.Valid() {
		return nil, geo.Errorf(geo.EInvalid, "role must be admin, editor or viewer, got %q", u.Role)
	}
	if len([]rune(u.Password)) < 10 {
		return nil, geo.Errorf(geo.EInvalid, "password must be at least 10 characters")
	}
	if u.Role == geo.UserEditor && u.ScopeCode == "" {
		return nil, geo.Errorf(geo.EInvalid, "an editor needs a scope (the code of the area whose subtree it edits)")
	}
	hash, err := HashPassword(u.Password)
	if err != nil {
		return nil, geo.Internal("data.CreateUser", err)
	}
	out := &geo.User{Name: u.Name, Role: u.Role, ScopeCode: u.ScopeCode}
	if err := s.db.Pool.QueryRow(ctx, qCreateUser, u.Name, hash, string(u.Role), u.ScopeCode).Scan(&out.ID, &out.ScopeAreaID); err != nil {
		return nil, dbErr("data.CreateUser", err)
	}
	if u.ScopeCode != "" && out.ScopeAreaID == 0 {
		return nil, geo.Errorf(geo.EInvalid, "scope %q matches no current area", u.ScopeCode)
	}
	return out, nil
}

const qUserByName = `
SELECT u.id, u.name, u.role, coalesce(u.scope_area_id, 0), coalesce(a.code, ''), u.password_hash
FROM app_user u LEFT JOIN area a ON a.id = u.scope_area_id WHERE u.name = $1 AND NOT u.disabled`

// Authenticate checks a name and password.
func (s *AuthService) Authenticate(ctx context.Context, name, password string) (*geo.User, error) {
	var u geo.User
	var hash string
	err := s.db.Pool.QueryRow(ctx, qUserByName, name).Scan(&u.ID, &u.Name, &u.Role, &u.ScopeAreaID, &u.ScopeCode, &hash)
	if err == pgx.ErrNoRows {
		VerifyPassword(s.dummyHash, password)
		return nil, geo.Errorf(geo.EUnauthenticated, "name or password is wrong")
	}
	if err != nil {
		return nil, dbErr("data.Authenticate", err)
	}
	if !VerifyPassword(hash, password) {
		return nil, geo.Errorf(geo.EUnauthenticated, "name or password is wrong")
	}
	return &u, nil
}

const qCreateSession = `INSERT INTO session (token_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)`

// CreateSession starts a session for a user; the token goes in the cookie.
func (s *AuthService) CreateSession(ctx context.Context, userID int64, ttl time.Duration) (string, *geo.Session, error) {
	token, csrf := randomToken(), randomToken()
	exp := time.Now().Add(ttl).UTC().Truncate(time.Second)
	if _, err := s.db.Pool.Exec(ctx, qCreateSession, tokenHash(token), userID, csrf, exp); err != nil {
		return "", nil, dbErr("data.CreateSession", err)
	}
	sess, err := s.Session(ctx, token)
	return token, sess, err
}

const qSession = `
SELECT u.id, u.name, u.role, coalesce(u.scope_area_id, 0), coalesce(a.code, ''), s.csrf_token, s.expires_at
FROM session s JOIN app_user u ON u.id = s.user_id LEFT JOIN area a ON a.id = u.scope_area_id
WHERE s.token_hash = $1 AND s.expires_at > now() AND NOT u.disabled`

// Session returns the live session of a token, or EUnauthenticated.
func (s *AuthService) Session(ctx context.Context, token string) (*geo.Session, error) {
	var sess geo.Session
	u := &sess.User
	err := s.db.Pool.QueryRow(ctx, qSession, tokenHash(token)).Scan(&u.ID, &u.Name, &u.Role, &u.ScopeAreaID, &u.ScopeCode, &sess.CSRFToken, &sess.ExpiresAt)
	if err == pgx.ErrNoRows {
		return nil, geo.Errorf(geo.EUnauthenticated, "not signed in, or the session has expired: sign in again")
	}
	if err != nil {
		return nil, dbErr("data.Session", err)
	}
	return &sess, nil
}

// DeleteSession ends a session.
func (s *AuthService) DeleteSession(ctx context.Context, token string) error {
	_, err := s.db.Pool.Exec(ctx, `DELETE FROM session WHERE token_hash = $1`, tokenHash(token))
	return dbErr("data.DeleteSession", err)
}

const qCreateToken = `INSERT INTO api_token (token_hash, user_id, name, expires_at) VALUES ($1, $2, $3, $4)`

// CreateAPIToken makes a bearer token for scripts; ttl 0 never expires.
func (s *AuthService) CreateAPIToken(ctx context.Context, userID int64, name string, ttl time.Duration) (string, error) {
	token := "gm_" + randomToken()
	var exp *time.Time
	if ttl > 0 {
		t := time.Now().Add(ttl)
		exp = &t
	}
	if _, err := s.db.Pool.Exec(ctx, qCreateToken, tokenHash(token), userID, name, exp); err != nil {
		return "", dbErr("data.CreateAPIToken", err)
	}
	return token, nil
}

const qTokenUser = `
SELECT u.id, u.name, u.role, coalesce(u.scope_area_id, 0), coalesce(a.code, '')
FROM api_token t JOIN app_user u ON u.id = t.user_id LEFT JOIN area a ON a.id = u.scope_area_id
WHERE t.token_hash = $1 AND (t.expires_at IS NULL OR t.expires_at > now()) AND NOT u.disabled`

// APITokenUser returns the user of a bearer token, or EUnauthenticated.
func (s *AuthService) APITokenUser(ctx context.Context, token string) (*geo.User, error) {
	var u geo.User
	err := s.db.Pool.QueryRow(ctx, qTokenUser, tokenHash(token)).Scan(&u.ID, &u.Name, &u.Role, &u.ScopeAreaID, &u.ScopeCode)
	if err == pgx.ErrNoRows {
		return nil, geo.Errorf(geo.EUnauthenticated, "the API token is unknown or expired")
	}
	if err != nil {
		return nil, dbErr("data.APITokenUser", err)
	}
	return &u, nil
}

// qBelow reports whether $2 lies strictly below $1 in the area tree.
const qBelow = `
WITH RECURSIVE up AS (
    SELECT parent_id FROM area WHERE id = $2
    UNION ALL
    SELECT a.parent_id FROM area a JOIN up ON a.id = up.parent_id
)
SELECT EXISTS (SELECT 1 FROM up WHERE parent_id = $1)`

// InScope reports whether areaID lies strictly below the user's scope area;
// admins and unscoped users are in scope everywhere.
func (s *AuthService) InScope(ctx context.Context, u *geo.User, areaID int64) (bool, error) {
	if u.Role == geo.UserAdmin || u.ScopeAreaID == 0 {
		return true, nil
	}
	var ok bool
	err := s.db.Pool.QueryRow(ctx, qBelow, u.ScopeAreaID, areaID).Scan(&ok)
	return ok, dbErr("data.InScope", err)
}

// Users counts the accounts.
func (s *AuthService) Users(ctx context.Context) (int, error) {
	var n int
	err := s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM app_user`).Scan(&n)
	return n, dbErr("data.Users", err)
}
