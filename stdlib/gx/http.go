package gx

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/gxl-dev/gxl/core/retry"
	"github.com/gxl-dev/gxl/lang/builtin"
)

func authOf(a builtin.Args) (user, pass string, err error) {
	user, pass = a.Str("username"), a.Str("password")
	if (user == "") != (pass == "") {
		return "", "", fmt.Errorf("give both username and password, or neither")
	}
	return user, pass, nil
}

func runDownload(c builtin.Ctx, a builtin.Args) error {
	user, pass, err := authOf(a)
	if err != nil {
		return err
	}
	u := a.Str("url")
	// The file written is checked, so an existing folder (even ".") may
	// receive a download named after the URL.
	local := a.Str("local_file")
	if st, err := os.Stat(absIn(c, local)); err == nil && st.IsDir() && strings.TrimSpace(local) != "" {
		pu, err := url.Parse(u)
		if err != nil {
			return err
		}
		name := path.Base(pu.Path)
		if name == "" || name == "/" || name == "." || name == ".." {
			return fmt.Errorf("cannot take a file name from %s; give local_file a file name", c.Mask(u))
		}
		local = filepath.Join(local, name)
	}
	dst, err := builtin.Dest(c, "local_file", local)
	if err != nil {
		return err
	}
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// %v, not %w: err is a *url.Error holding the unmasked URL.
		return fmt.Errorf("download %s: %v", c.Mask(u), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("download %s: HTTP %s", c.Mask(u), resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, resp.Body); err != nil {
		tmp.Close()
		// %v, not %w: err is a *url.Error holding the unmasked URL.
		return fmt.Errorf("download %s: %v", c.Mask(u), err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	c.Logf("download %s -> %s", c.Mask(u), dst)
	return nil
}

func runUpload(c builtin.Ctx, a builtin.Args) error {
	user, pass, err := authOf(a)
	if err != nil {
		return err
	}
	method := strings.ToUpper(a.Str("method"))
	f, err := os.Open(absIn(c, a.Str("local_file")))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	ctx, cancel := retry.WithTimeout(c.Context(), a.Duration("timeout"))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, a.Str("url"), f)
	if err != nil {
		return err
	}
	req.ContentLength = st.Size()
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// %v, not %w: err is a *url.Error holding the unmasked URL.
		return fmt.Errorf("upload to %s: %v", c.Mask(a.Str("url")), err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("upload to %s: HTTP %s", c.Mask(a.Str("url")), resp.Status)
	}
	c.Logf("upload %s -> %s (%s)", a.Str("local_file"), c.Mask(a.Str("url")), method)
	return nil
}
