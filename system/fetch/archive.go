package fetch

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gxl-dev/gxl/core/fsguard"
	"github.com/gxl-dev/gxl/system"
)

// MaxRedirects is how many http redirects a download follows.
const MaxRedirects = 10

// MaxArchive is the largest module archive a download accepts (bytes).
const MaxArchive = 1 << 30

// DownloadTimeout bounds one download of a module archive.
const DownloadTimeout = 10 * time.Minute

// httpClient downloads module archives. It follows at most MaxRedirects
// redirects; net/http drops the Authorization header on a redirect to
// another host, so a credential reaches only the host it was given for.
var httpClient = &http.Client{
	Timeout: DownloadTimeout,
	CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= MaxRedirects {
			return fmt.Errorf("stopped after %d redirects", MaxRedirects)
		}
		return nil
	},
}

// archiveTree brings the archive of tarball module m into the cache and
// returns the folder that is the module (the unpacked archive, or its
// sub-folder Addr.Path) with the lock entry. Unless Offline the archive is
// downloaded again (through the mirrors) and its sha256 compared with the
// lock's: a different archive at the same url is an error unless Update.
// Archives are unpacked once per checksum under Cache/archives/<sha256>.
func (f *Fetcher) archiveTree(m *system.Module, lock *Lock, c creds) (string, Locked, error) {
	shown := Redact(m.Addr.URL)
	dir := filepath.Join(f.cache(), "downloads", cacheName(m.Addr.URL))
	defer f.lockDir(dir)()
	file := filepath.Join(dir, "archive")
	var prev *Locked
	if l := lock.find(m.Name); l != nil && l.URL == shown && l.SHA256 != "" {
		prev = l
	}
	var sum, fresh string
	if f.Offline {
		s, err := fileSum(file)
		if err != nil {
			return "", Locked{}, fmt.Errorf("%s is not in the module cache (offline)", shown)
		}
		sum = s
	} else {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", Locked{}, err
		}
		tmp, s, err := download(f.Rewrite(m.Addr.URL), shown, dir, c)
		if err != nil {
			return "", Locked{}, err
		}
		defer os.Remove(tmp)
		sum, fresh = s, tmp
	}
	if prev != nil && prev.SHA256 != sum && !f.Update {
		return "", Locked{}, fmt.Errorf("the archive at %s changed since it was locked (sha256 %s, now %s); check it, then fetch with update (--mod_up) to accept it",
			shown, short(prev.SHA256), short(sum))
	}
	if fresh != "" {
		if err := os.Rename(fresh, file); err != nil {
			return "", Locked{}, err
		}
	}
	tree := filepath.Join(f.cache(), "archives", sum)
	if err := f.unpack(file, shown, tree); err != nil {
		return "", Locked{}, err
	}
	src, err := subDir(tree, m.Addr.Path)
	if err != nil {
		return "", Locked{}, fmt.Errorf("%s: %w", shown, err)
	}
	return src, Locked{Name: m.Name, URL: shown, SHA256: sum, Path: m.Addr.Path}, nil
}

// download GETs url into a new file of dir and returns its name and
// sha256. shown is the address for messages. A token is sent as a bearer
// token, username and password as basic auth.
func download(url, shown, dir string, c creds) (string, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "", "", fmt.Errorf("%s: %v", shown, err)
	}
	switch {
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	case c.username != "":
		req.SetBasicAuth(c.username, c.password)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		// %v: a *url.Error quotes the URL (Fetch strips its user part).
		return "", "", fmt.Errorf("download %s: %v", shown, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			if c.token == "" && c.username == "" {
				hint = "; the server wants a credential: give the module's addr token: ${SEC_NAME} (or username: and password:) with the value in the secrets file"
			} else {
				hint = "; the credential was refused"
			}
		}
		return "", "", fmt.Errorf("download %s: HTTP %s%s", shown, resp.Status, hint)
	}
	out, err := os.CreateTemp(dir, "download-*")
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(resp.Body, MaxArchive+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > MaxArchive {
		err = fmt.Errorf("larger than %d MiB", MaxArchive>>20)
	}
	if err != nil {
		os.Remove(out.Name())
		return "", "", fmt.Errorf("download %s: %v", shown, err)
	}
	return out.Name(), hex.EncodeToString(h.Sum(nil)), nil
}

// fileSum is the sha256 of a file.
func fileSum(file string) (string, error) {
	fh, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// unpack extracts the archive file (a .tar.gz/.tgz, told by its gzip
// header, or a plain .tar) into tree unless it is there already, through
// a temporary folder and fsguard.ExtractTar (the extraction gx.untar
// uses): no entry lands or points outside tree.
func (f *Fetcher) unpack(file, shown, tree string) error {
	defer f.lockDir(tree)()
	if _, err := os.Stat(tree); err == nil {
		return nil
	}
	fh, err := os.Open(file)
	if err != nil {
		return err
	}
	defer fh.Close()
	br := bufio.NewReader(fh)
	notArchive := fmt.Errorf("%s is not a .tar.gz, .tgz or .tar archive", shown)
	tr := br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%w (%v)", notArchive, err)
		}
		tr = bufio.NewReader(gz)
	}
	// A tar's first header has "ustar" at offset 257 (POSIX, GNU and PAX
	// archives alike): an HTML error page is not unpacked.
	if head, _ := tr.Peek(262); len(head) < 262 || string(head[257:262]) != "ustar" {
		return notArchive
	}
	if err := os.MkdirAll(filepath.Dir(tree), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(tree), ".unpack-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := fsguard.ExtractTar(shown, tr, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, tree)
}
