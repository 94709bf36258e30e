package builtin

import (
	"github.com/gxl-dev/gxl/core/retry"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/core/value"
)

// RetryParams are the parameters of a built-in that tries again: the one
// retry vocabulary of GXL, the same as #[retry(...)] on flows. attempts
// counts every try, the first included; what names what is tried ("the
// command", "the request") in the docs.
func RetryParams(attempts int64, delay, what string) []Param {
	return []Param{
		{Name: "attempts", Type: types.Int, Default: value.Int(attempts), Doc: "tries of " + what + " in total, the first included", Check: retryCheck("attempts")},
		{Name: "delay", Type: types.Duration, Default: value.Str(delay), Doc: "pause after the first failed try", Check: retryCheck("delay")},
		{Name: "backoff", Type: types.Float, Default: value.Float(1), Doc: "factor applied to the pause after each further failed try (≥ 1)", Check: retryCheck("backoff")},
		{Name: "max_delay", Type: types.Duration, Doc: "longest pause (none by default)", Check: retryCheck("max_delay")},
	}
}

// retryCheck is the Check of a retry parameter: retry.Check, the one rule
// of each field of a policy, on the argument's value (already of the
// parameter's type).
func retryCheck(name string) func(value.Value) error {
	return func(v value.Value) error {
		switch name {
		case "delay", "max_delay":
			d, err := ParseDuration(v)
			if err != nil {
				return err
			}
			return retry.Check(name, float64(d))
		case "attempts":
			return retry.Check(name, float64(v.IntVal()))
		}
		return retry.Check(name, v.FloatVal())
	}
}

// OldRetries declares an old count of retries after the first try (`retry`
// of gx.cmd, `retries` of http.check) as a deprecated spelling of
// attempts: N retries are N+1 attempts.
func OldRetries(name string) Param {
	return Param{Name: name, Type: types.Int, Doc: "old spelling of `attempts`: tries after the first",
		Deprecated: &Deprecated{Use: "attempts", Rule: "attempts = " + name + " + 1",
			Convert: func(v value.Value) value.Value { return value.Int(v.IntVal() + 1) }}}
}

// OldDelay declares an old name of the pause between tries (`retry_delay`,
// `interval`) as a deprecated spelling of delay.
func OldDelay(name string) Param {
	return Param{Name: name, Type: types.Duration, Doc: "old spelling of `delay`", Check: retryCheck("delay"),
		Deprecated: &Deprecated{Use: "delay", Rule: "delay = " + name}}
}

// RetryPolicy reads the RetryParams of a call; a value that makes no
// policy (attempts: 0, backoff: 0.5) is an error naming the argument.
func (a Args) RetryPolicy() (retry.Policy, error) {
	p := retry.Policy{
		Attempts: int(a.Int("attempts")),
		Delay:    a.Duration("delay"),
		Backoff:  a.Float("backoff"),
		MaxDelay: a.Duration("max_delay"),
	}
	if !a.Has("attempts") {
		p.Attempts = 1
	}
	if !a.Has("backoff") {
		p.Backoff = 1
	} else if err := retry.Check("backoff", p.Backoff); err != nil {
		return p, err // a written 0 is not "unset"
	}
	return p, p.Validate()
}
