package progress

import (
	"io"
	"strings"
	"sync"
	"time"
)

// Live is the terminal display of waits: one line per wait below
// everything else written, each with its text and the time elapsed,
// redrawn in place every tick. Everything else written to the terminal
// (logs, command output, on stderr and stdout alike) must go through
// Writer, which takes the lines away, writes, and draws them again, so
// the two never mix. A small status-line writer rather than a progress-bar
// library: gxl's waits have no known total, and the display must share
// the terminal with log lines that arrive from parallel modules.
type Live struct {
	term  io.Writer // where the lines are drawn (stderr, a terminal)
	width int
	mu    sync.Mutex
	lines []*Line
	drawn int // how many lines are on the screen now
	stop  chan struct{}
	done  chan struct{}
	now   func() time.Time
	// writers are the Writers made, whose unfinished lines Close writes.
	writers []*liveWriter
}

// Line is one live line.
type Line struct {
	l      *Live
	text   string
	status string
	began  time.Time
}

// NewLive starts a display on term (width columns; 0: 100). Close ends it.
func NewLive(term io.Writer, width int) *Live {
	if width <= 0 {
		width = 100
	}
	l := &Live{term: term, width: width, stop: make(chan struct{}), done: make(chan struct{}), now: time.Now}
	go l.tick(200 * time.Millisecond)
	return l
}

func (l *Live) tick(every time.Duration) {
	defer close(l.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.mu.Lock()
			if len(l.lines) > 0 || l.drawn > 0 {
				l.clear()
				l.draw()
			}
			l.mu.Unlock()
		}
	}
}

// Close takes the lines away and stops the display.
func (l *Live) Close() {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clear()
	l.lines = nil
	for _, w := range l.writers {
		if len(w.buf) > 0 {
			w.w.Write(w.buf)
			w.buf = nil
		}
	}
}

// Add shows a new line with text.
func (l *Live) Add(text string) *Line {
	l.mu.Lock()
	defer l.mu.Unlock()
	ln := &Line{l: l, text: text, began: l.now()}
	l.clear()
	l.lines = append(l.lines, ln)
	l.draw()
	return ln
}

// Set changes the status shown after the line's text.
func (ln *Line) Set(status string) {
	ln.l.mu.Lock()
	defer ln.l.mu.Unlock()
	ln.status = status
}

// Remove takes the line away.
func (ln *Line) Remove() {
	l := ln.l
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clear()
	for i, x := range l.lines {
		if x == ln {
			l.lines = append(l.lines[:i], l.lines[i+1:]...)
			break
		}
	}
	l.draw()
}

// clear erases the drawn lines; the cursor ends at the start of the
// first. Called with mu held.
func (l *Live) clear() {
	if l.drawn == 0 {
		return
	}
	var b strings.Builder
	for i := 0; i < l.drawn; i++ {
		b.WriteString("\x1b[1A\r\x1b[2K") // up one line, erase it
	}
	io.WriteString(l.term, b.String())
	l.drawn = 0
}

// draw writes every line, each ending with a newline, so output written
// next starts where the lines were. Called with mu held.
func (l *Live) draw() {
	if len(l.lines) == 0 {
		return
	}
	var b strings.Builder
	now := l.now()
	for _, ln := range l.lines {
		s := ln.text
		if ln.status != "" {
			s += ": " + ln.status
		}
		el := "  " + now.Sub(ln.began).Truncate(100*time.Millisecond).String()
		if r := []rune(s); len(r)+len(el) > l.width-1 {
			s = string(r[:max(0, l.width-1-len(el)-1)]) + "…"
		}
		b.WriteString(s + el + "\n")
	}
	io.WriteString(l.term, b.String())
	l.drawn = len(l.lines)
}

// Writer returns w (the terminal's stderr or stdout) wrapped so that what
// is written appears above the live lines. Only whole lines are written
// through at once; an unfinished line waits for its end, so the lines are
// never drawn in the middle of someone else's.
func (l *Live) Writer(w io.Writer) io.Writer {
	l.mu.Lock()
	defer l.mu.Unlock()
	lw := &liveWriter{l: l, w: w}
	l.writers = append(l.writers, lw)
	return lw
}

type liveWriter struct {
	l   *Live
	w   io.Writer
	buf []byte
}

func (lw *liveWriter) Write(p []byte) (int, error) {
	l := lw.l
	l.mu.Lock()
	defer l.mu.Unlock()
	lw.buf = append(lw.buf, p...)
	i := strings.LastIndexByte(string(lw.buf), '\n')
	if i < 0 {
		if len(l.lines) == 0 && l.drawn == 0 {
			// Nothing live: a prompt or a partial line goes out as is.
			_, err := lw.w.Write(lw.buf)
			lw.buf = lw.buf[:0]
			return len(p), err
		}
		return len(p), nil
	}
	l.clear()
	_, err := lw.w.Write(lw.buf[:i+1])
	lw.buf = append(lw.buf[:0], lw.buf[i+1:]...)
	l.draw()
	return len(p), err
}
