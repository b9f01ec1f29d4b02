package geo

import (
	"context"
	"time"
)

// UserRole is what a staff account may do.
type UserRole string

// Staff roles: admins do everything; editors edit inside their scope; viewers read.
const (
	UserAdmin  UserRole = "admin"
	UserEditor UserRole = "editor"
	UserViewer UserRole = "viewer"
)

// Valid reports whether r is a known role.
func (r UserRole) Valid() bool { return r == UserAdmin || r == UserEditor || r == UserViewer }

// User is a staff account. ScopeAreaID confines editors and viewers to the
// subtree below that area (0: everywhere).
type User struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Role        UserRole `json:"role"`
	ScopeAreaID int64    `json:"scope_area_id,omitempty"`
	ScopeCode   string   `json:"scope_code,omitempty"`
}

// Session is a signed-in browser session.
type Session struct {
	User      User      `json:"user"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// NewUser is an account to create.
type NewUser struct {
	Name      string
	Password  string
	Role      UserRole
	ScopeCode string // "" for everywhere
}

// AuthService keeps accounts, sessions and API tokens. Secrets are returned
// once, at creation; only their hashes are stored.
type AuthService interface {
	CreateUser(ctx context.Context, u NewUser) (*User, error)
	// Authenticate checks a name and password. Unknown names and wrong
	// passwords give the same EUnauthenticated error, in about the same time.
	Authenticate(ctx context.Context, name, password string) (*User, error)
	CreateSession(ctx context.Context, userID int64, ttl time.Duration) (token string, s *Session, err error)
	Session(ctx context.Context, token string) (*Session, error)
	DeleteSession(ctx context.Context, token string) error
	CreateAPIToken(ctx context.Context, userID int64, name string, ttl time.Duration) (string, error)
	APITokenUser(ctx context.Context, token string) (*User, error)
	// InScope reports whether areaID lies strictly below the user's scope area
	// (admins and unscoped users: always).
	InScope(ctx context.Context, u *User, areaID int64) (bool, error)
	Users(ctx context.Context) (int, error)
}
