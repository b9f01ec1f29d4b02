package geo

import "context"

// primaryReadsKey marks a context whose reads must see the primary's data.
type primaryReadsKey struct{}

// WithPrimaryReads returns ctx marked so that the database reads made with it
// go to the primary, not to a read replica: the reads of signed-in staff (the
// editor's own reads) and of a client that has just written
// (read-your-writes). data.DB.reader is the one place that obeys it.
func WithPrimaryReads(ctx context.Context) context.Context {
	return context.WithValue(ctx, primaryReadsKey{}, true)
}

// PrimaryReads reports whether ctx was marked by WithPrimaryReads.
func PrimaryReads(ctx context.Context) bool {
	v, _ := ctx.Value(primaryReadsKey{}).(bool)
	return v
}

// feedServerReadsKey marks a context whose reads must come from the server
// the process's change feed follows.
type feedServerReadsKey struct{}

// WithFeedServerReads returns ctx marked so that its database reads go to
// the read server whose change log this process follows (the server its
// caches load from), not to any server of the read set: that server is the
// one known to have replayed a position the feed has delivered (a client's
// own write, read-your-writes). data.DB.reader is the one place that obeys it.
func WithFeedServerReads(ctx context.Context) context.Context {
	return context.WithValue(ctx, feedServerReadsKey{}, true)
}

// FeedServerReads reports whether ctx was marked by WithFeedServerReads.
func FeedServerReads(ctx context.Context) bool {
	v, _ := ctx.Value(feedServerReadsKey{}).(bool)
	return v
}
