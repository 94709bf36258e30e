package engine_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/gxl-dev/gxl/engine"
	"github.com/gxl-dev/gxl/internal/devstack"
)

var pageScreenshot = flag.String("page-screenshot", "", "TestStatusPageInBrowser writes a PNG of the status page to this file (docs/img/operate-status.png)")

// chromiumFlags are the flags every browser of these tests runs with.
var chromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"}

// chromium is Debian's chromium, installed by scripts/install-deps.sh
// when missing; the test is skipped only when it cannot be installed.
func chromium(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	ierr := devstack.InstallDeps()
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Skipf("chromium is not installed and scripts/install-deps.sh could not install it (%v): the status page is not tested in a browser", ierr)
	}
	return p
}

// TestStatusPageInBrowser: the status page of a running operator in
// headless Chromium. Without JavaScript (--dump-dom) it shows the module ×
// stage table and the leader; with it (over the DevTools protocol) a flow
// going from succeeded to failed shows within 2 s, without a reload.
func TestStatusPageInBrowser(t *testing.T) {
	bin := chromium(t)
	root := t.TempDir()
	flagFile := filepath.Join(root, "broken")
	op := startOperator(t, fmt.Sprintf(`mod main {
    #[every("200ms")]
    flow health_check {
        gx.cmd("test ! -e %s", silence: true);
        operate.mark("postgresql-ha", healthy: true);
    }
    #[every("1h")]
    flow failover {
        operate.mark("redis-ha", healthy: true);
        operate.mark("redis-ha", failover: true);
    }
    #[cron("0 1 * * *")]
    flow backup {
        gx.echo("backup");
    }
}
`, flagFile), "")
	op.setLeader(engine.LeaderStatus{Identity: "gxl-operator-0", Self: true, Since: time.Now()})
	op.waitLast(t, "main.health_check", "succeeded")
	op.waitLast(t, "main.failover", "succeeded")
	url := "http://" + op.addr + "/"

	// The first render: chromium --dump-dom.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append(append([]string{}, chromiumFlags...), "--user-data-dir="+filepath.Join(root, "profile-dump"), "--dump-dom", url)
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	want := []string{
		`<table id="stages">`,
		`<tr data-module="postgresql-ha"><th>postgresql-ha</th><td class="healthy">healthy`,
		`leader: gxl-operator-0 (this replica)`,
		`<td>main.backup</td><td>cron 0 1 * * *</td>`,
	}
	// main.health_check runs every 200 ms: it may be running.
	cellRE := regexp.MustCompile(`<td class="(succeeded|running)" data-flow="main.health_check">`)
	for _, w := range want {
		if !strings.Contains(string(out), w) {
			t.Errorf("chromium --dump-dom: the page lacks %s\n%s", w, out)
		}
	}
	if !cellRE.Match(out) {
		t.Errorf("chromium --dump-dom: main.health_check is neither succeeded nor running\n%s", out)
	}

	// With JavaScript, over the DevTools protocol.
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(filepath.Join(root, "profile")), chromedp.WindowSize(1100, 900))
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	// Without JavaScript: the page as the server rendered it, its script
	// not run.
	njctx, njcancel := chromedp.NewContext(bctx)
	defer njcancel()
	body, err := chromedp.Run(njctx, func(ctx context.Context, t *chromedp.Target) (string, error) {
		if _, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			return "", err
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitReady(chromedp.ID("stages"))); err != nil {
			return "", err
		}
		return chromedp.OuterHTML(chromedp.CSS("body"))(ctx, t)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("without JavaScript: the page lacks %s\n%s", w, body)
		}
	}
	if !cellRE.MatchString(body) {
		t.Errorf("without JavaScript: main.health_check is neither succeeded nor running\n%s", body)
	}
	if strings.Contains(body, "data-live") || !strings.Contains(body, "every 5 s without JavaScript") {
		t.Errorf("without JavaScript, the page's script ran:\n%s", body)
	}
	njcancel()

	// With JavaScript: live updates.
	if err := chromedp.Do(bctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`body[data-live="open"]`))); err != nil {
		t.Fatal(err)
	}
	leader, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById('leader').textContent`))
	if err != nil {
		t.Fatal(err)
	}
	cell, err := chromedp.Run(bctx, chromedp.Evaluate[string](`window.notReloaded = true; document.querySelector('td[data-flow="main.health_check"]').className`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(leader, "leader: gxl-operator-0 (this replica)") {
		t.Errorf("leader line %q", leader)
	}
	if cell != "succeeded" && cell != "running" {
		t.Errorf("main.health_check is %q before the change", cell)
	}

	if err := os.WriteFile(flagFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var seen time.Time
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		state, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(window.notReloaded ? '' : 'reloaded ') + document.querySelector('td[data-flow="main.health_check"]').className`))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(state, "reloaded") {
			t.Fatal("the page was reloaded")
		}
		if state == "failed" {
			seen = time.Now()
			break
		}
	}
	if seen.IsZero() {
		t.Fatal("the page did not show main.health_check failed within 30s")
	}
	// When it failed, as the operator says: the page showed it within 2 s.
	var failed time.Time
	for _, ev := range op.status(t).Events {
		if ev.Kind == "failed" && ev.Flow == "main.health_check" && failed.IsZero() {
			failed = ev.Time
		}
	}
	if failed.IsZero() {
		t.Fatal("/status has no failed event of main.health_check")
	}
	if lag := seen.Sub(failed); lag > 2*time.Second {
		t.Errorf("the page showed the failure %s after it happened, want within 2s", lag)
	} else {
		t.Logf("the page showed the failure %s after it happened", lag.Round(time.Millisecond))
	}
	// read in one evaluation: a DOM query's node may be replaced by a
	// live update before its text is read
	text, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById('alerts').textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "main.health_check") {
		t.Errorf("the alerts do not list the failure: %q", text)
	}

	if *pageScreenshot != "" {
		png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*pageScreenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
