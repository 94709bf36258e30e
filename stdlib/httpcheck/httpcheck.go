// Package httpcheck implements http.check: a health probe of a service
// endpoint (status code and body match, with retries).
package httpcheck

import (
	"context"
	"fmt"
	"github.com/gxl-dev/gxl/core/types"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/gxl-dev/gxl/core/progress"
	"github.com/gxl-dev/gxl/core/retry"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// Register adds http.check.
func Register(r *builtin.Registry) {
	r.Add(&builtin.Builtin{
		Name: "http.check", Doc: "GET a URL until it answers the expected status (and body pattern), with retries.",
		Where: builtin.InBlock, Effect: builtin.Reads,
		Params: append([]builtin.Param{
			{Name: "url", Type: types.String, Required: true, Positional: true, Doc: "the URL"},
			{Name: "status", Type: types.Int, Default: value.Int(200), Doc: "expected status code"},
			{Name: "body", Type: types.String, Doc: "regular expression the body must match"},
			{Name: "timeout", Type: types.Duration, Default: value.Str("5s"), Doc: "timeout of each attempt"},
		}, append(builtin.RetryParams(4, "1s", "the request"), builtin.OldRetries("retries"), builtin.OldDelay("interval"))...),
		Run: run,
	})
}

func run(c builtin.Ctx, a builtin.Args) error {
	var re *regexp.Regexp
	if p := a.Str("body"); p != "" {
		var err error
		if re, err = regexp.Compile(p); err != nil {
			return fmt.Errorf("http.check: body pattern: %w", err)
		}
	}
	pol, err := a.RetryPolicy()
	if err != nil {
		return err
	}
	url := a.Str("url")
	// A service that does not answer at once is a wait: shown from the
	// first retry on (core/progress).
	var wait progress.Handle
	err = retry.Do(c.Context(), pol, func(ctx context.Context, _ int) error {
		return probe(ctx, url, a.Duration("timeout"), int(a.Int("status")), re)
	}, retry.OnRetry(func(next int, _ time.Duration, err error) {
		if wait == nil {
			wait = progress.Start(c.Context(), fmt.Sprintf("%s to answer %d", c.Mask(url), a.Int("status")))
		}
		wait.Update(fmt.Sprintf("attempt %d of %d: %v", next-1, pol.Attempts, err))
	}))
	if wait != nil {
		wait.Done(err)
	}
	if err != nil {
		return fmt.Errorf("http.check %s: %w", c.Mask(url), err)
	}
	c.Logf("http.check %s: ok", c.Mask(url))
	return nil
}

func probe(ctx context.Context, url string, timeout time.Duration, status int, re *regexp.Regexp) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != status {
		return fmt.Errorf("status %d, want %d", resp.StatusCode, status)
	}
	if re != nil && !re.Match(body) {
		return fmt.Errorf("body does not match %q", re.String())
	}
	return nil
}
