package runtime

import (
	"errors"
	"fmt"
)

// ErrFenced is the failure of a statement that a run's Fence refused:
// the process may no longer act (gxl operate --ha: it lost the lease).
// errors.Is(err, ErrFenced) tells such a stop from a failure.
var ErrFenced = errors.New("fenced: this process may no longer act")

// FencedError is ErrFenced with why the fence refused.
type FencedError struct{ Err error }

func (e *FencedError) Error() string {
	if e.Err == nil {
		return ErrFenced.Error()
	}
	return fmt.Sprintf("%s (%v)", ErrFenced, e.Err)
}

func (e *FencedError) Is(target error) bool { return target == ErrFenced }
func (e *FencedError) Unwrap() error        { return e.Err }

// fence asks Options.Fence before an effect. A refusal abandons the
// journal first, so that nothing the run does afterwards (the failure,
// the undo, the exit) is recorded: the journal reads as the journal of a
// killed run, interrupted at this statement, and the run resumes there
// where it is resumed. The undo does not happen either: its statements
// meet the same fence.
func (x *exec) fence() error {
	f := x.r.opt.Fence
	if f == nil {
		return nil
	}
	err := f(x.ctx)
	if err == nil {
		return nil
	}
	x.r.opt.Journal.Abandon()
	var fe *FencedError
	if !errors.As(err, &fe) {
		err = &FencedError{Err: err}
	}
	return err
}

// Abandon stops the journal: every record after it is dropped, the
// records before it stay (the buffered ones are written). The journal
// then says what a kill at this point would have left — the run
// interrupted, to be resumed — while the process goes on (a fenced
// operator replica). Close still releases the run's lock.
func (j *Journal) Abandon() {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.abandoned || j.closed {
		return
	}
	j.syncLocked()
	j.abandoned = true
}
