// Package notify implements the notify.* built-ins, gxl's alerts:
// notify.slack (an incoming-webhook JSON POST), notify.pagerduty (Events
// API v2, trigger and resolve sharing a dedup key), notify.email (SMTP
// with STARTTLS) and notify.incident (whether an incident is open, kept
// across runs, so a failing check alerts once and resolves once).
//
// An alert must never make things worse: a delivery is retried with the
// one retry policy (core/retry: attempts, delay, backoff, max_delay), each
// try bounded by timeout, and a delivery that still fails is a warning in
// the log and delivered=false in the call's result — never a failed step.
// An empty endpoint (no webhook URL, no key, no server, no recipient) is a
// logged no-op, so a system without alert endpoints runs as before.
//
// Webhook URLs, routing keys and passwords are secrets. Values from secret
// variables are masked by the run's masker everywhere; on top of that a
// call never prints its own URL, key or password, even when written
// literally: log lines name an endpoint by scheme and host only
// (https://hooks.slack.com/***), and error texts from the network or the
// server are masked with the call's own secrets before they are shown.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gxl-dev/gxl/core/mask"
	"github.com/gxl-dev/gxl/core/retry"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// OutDoc describes the result every delivering built-in sets.
const OutDoc = "variable set to the result {channel, delivered, skipped, attempts, error} (pagerduty: also dedup_key; email: also recipients)"

// Register adds the notify.* built-ins.
func Register(r *builtin.Registry) {
	registerSlack(r)
	registerPagerDuty(r)
	registerEmail(r)
	registerIncident(r)
}

// deliveryParams are the parameters every delivering built-in shares: a
// timeout per try, the retry vocabulary and the result variable.
func deliveryParams() []builtin.Param {
	ps := []builtin.Param{
		{Name: "timeout", Type: types.Duration, Default: value.Str("10s"), Doc: "give up on one try after this long"},
		{Name: "out", Type: types.String, Default: value.Str("NOTIFY"), Doc: OutDoc},
	}
	return append(ps, builtin.RetryParams(3, "2s", "the delivery")...)
}

// delivery is one call of a delivering built-in.
type delivery struct {
	c       builtin.Ctx
	a       builtin.Args
	name    string    // "notify.slack"
	channel string    // "slack"
	target  string    // the endpoint as log lines show it (no secret part)
	hide    *mask.Set // the call's own secrets (URL, key, password)
	extra   map[string]value.Value
}

func newDelivery(c builtin.Ctx, a builtin.Args, name, target string, secrets ...string) *delivery {
	return &delivery{c: c, a: a, name: name, channel: strings.TrimPrefix(name, "notify."), target: target,
		hide: mask.New(secrets...), extra: map[string]value.Value{}}
}

// mask hides the call's own secrets and every secret of the run in s.
func (d *delivery) mask(s string) string { return d.c.Mask(d.hide.String(s)) }

// skip records a delivery that was not attempted (no endpoint configured).
func (d *delivery) skip(why string) error {
	d.c.Logf("%s: %s: nothing sent", d.name, why)
	d.set(false, true, 0, "")
	return nil
}

func (d *delivery) set(delivered, skipped bool, attempts int, errText string) {
	o := value.NewObject()
	o.Set("channel", value.Str(d.channel))
	o.Set("delivered", value.Bool(delivered))
	o.Set("skipped", value.Bool(skipped))
	o.Set("attempts", value.Int(int64(attempts)))
	o.Set("error", value.Str(errText))
	for k, v := range d.extra {
		o.Set(k, v)
	}
	d.c.Set(d.a.Str("out"), value.Obj(o))
}

// run sends with send under the call's retry policy, each try bounded by
// timeout. A failure after the last try is a warning and the result's
// delivered=false; only a retry policy written wrong, or the run being
// cancelled, is an error.
func (d *delivery) run(what string, send func(ctx context.Context) error) error {
	pol, err := d.a.RetryPolicy()
	if err != nil {
		return fmt.Errorf("%s: %w", d.name, err)
	}
	timeout := d.a.Duration("timeout")
	tries := 0
	err = retry.Do(d.c.Context(), pol, func(ctx context.Context, n int) error {
		tries = n
		tctx, cancel := retry.WithTimeout(ctx, timeout)
		defer cancel()
		err := send(tctx)
		if err != nil && tctx.Err() != nil && ctx.Err() == nil {
			// This try's own timeout, not the run's end.
			err = fmt.Errorf("no answer within %s", timeout)
		}
		return err
	}, retry.OnRetry(func(next int, wait time.Duration, err error) {
		d.c.Logf("%s %s to %s: try %d of %d failed: %s; again in %s", d.name, what, d.target, next-1, pol.Attempts, d.mask(err.Error()), wait)
	}))
	if err == nil {
		d.c.Logf("%s %s to %s: delivered", d.name, what, d.target)
		d.set(true, false, tries, "")
		return nil
	}
	if cerr := d.c.Context().Err(); cerr != nil {
		return fmt.Errorf("%s: %w", d.name, cerr)
	}
	var re *retry.Error
	if errors.As(err, &re) {
		err = re.Err
	}
	msg := d.mask(err.Error())
	d.c.Warnf("%s %s to %s: not delivered after %d attempt(s): %s (the flow goes on)", d.name, what, d.target, tries, msg)
	d.set(false, false, tries, msg)
	return nil
}

// Redact shows an endpoint URL by its scheme and host only: the path and
// query of a webhook URL are its secret.
func Redact(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return mask.Replacement
	}
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		out += "/" + mask.Replacement
	}
	return out
}

// urlSecrets are the texts of a webhook URL no output may show: the URL,
// its path, its query and its user info (a server's error may echo any).
func urlSecrets(raw string) []string {
	out := []string{raw}
	if u, err := url.Parse(strings.TrimSpace(raw)); err == nil {
		out = append(out, u.EscapedPath(), u.Path, u.RawQuery)
		if u.User != nil {
			out = append(out, u.User.String())
		}
	}
	return out
}

// netError drops the URL an *url.Error repeats (it holds the secret path)
// and keeps what went wrong.
func netError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
	}
	return err
}
