package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is an io.Writer that counts its writes.
type lockedBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	return b.buf.Write(p)
}

// since returns the lines of a slog text log from t on, leaving out the
// request lines (msg=request).
func (b *lockedBuffer) since(t time.Time) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out strings.Builder
	for _, line := range strings.Split(b.buf.String(), "\n") {
		ts, _, ok := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		at, err := time.Parse(time.RFC3339Nano, ts)
		if !ok || err != nil || at.Before(t) || strings.Contains(line, " msg=request ") {
			continue
		}
		out.WriteString(line + "\n")
	}
	return out.String()
}

// TestLogWriterKeepsEveryLineWhole writes lines from several goroutines at
// once: after Close every line is there once, whole, and each goroutine's
// lines are in the order it wrote them.
func TestLogWriterKeepsEveryLineWhole(t *testing.T) {
	var out lockedBuffer
	lw := newLogWriter(&out)
	const writers, lines = 8, 2000
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				fmt.Fprintf(lw, "msg=request writer=%d line=%d %s\n", g, i, strings.Repeat("x", i%97))
			}
		}()
	}
	wg.Wait()
	lw.Close()
	fmt.Fprintf(lw, "after close\n")
	got := strings.Split(strings.TrimSuffix(out.buf.String(), "\n"), "\n")
	if len(got) != writers*lines+1 {
		t.Fatalf("got %d lines, want %d", len(got), writers*lines+1)
	}
	if got[len(got)-1] != "after close" {
		t.Errorf("last line %q, want the one written after Close", got[len(got)-1])
	}
	next := make([]int, writers)
	for _, l := range got[:len(got)-1] {
		var g, i int
		var xs string
		if _, err := fmt.Sscanf(l, "msg=request writer=%d line=%d %s", &g, &i, &xs); err != nil && i%97 != 0 {
			t.Fatalf("line %q is not whole: %v", l, err)
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d came where line %d was due", g, i, next[g])
		}
		if len(xs) != i%97 {
			t.Fatalf("line %q is not whole", l)
		}
		next[g]++
	}
	t.Logf("%d lines in %d writes", len(got), out.writes)
}

// TestLogWriterWritesWithoutClose: a line reaches the output on its own,
// without Close (the server's log is read while it runs).
func TestLogWriterWritesWithoutClose(t *testing.T) {
	r, w := newPipe()
	lw := newLogWriter(w)
	defer lw.Close()
	fmt.Fprintf(lw, "one line\n")
	if got := <-r; got != "one line\n" {
		t.Errorf("got %q, want the line", got)
	}
}

// pipeWriter hands each write to a channel.
type pipeWriter chan string

func (p pipeWriter) Write(b []byte) (int, error) { p <- string(b); return len(b), nil }

func newPipe() (<-chan string, pipeWriter) {
	c := make(chan string, 16)
	return c, pipeWriter(c)
}
