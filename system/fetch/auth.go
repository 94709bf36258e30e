package fetch

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"

	"github.com/gxl-dev/gxl/core/mask"
	"github.com/gxl-dev/gxl/system"
)

// creds are the credentials of one module, resolved: what was written in
// its addr with each ${NAME} looked up. secrets masks them in errors.
type creds struct {
	username, password, token, sshKey, passphrase string
	secrets                                       *mask.Set
}

// refRE is a ${NAME} in a credential field.
var refRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_.]*)\}`)

// lookup resolves NAME of a ${NAME}: the Secrets of the fetcher (the
// run's SEC_* values, read from the secrets file), then the environment.
func (f *Fetcher) lookup(name string) (string, bool) {
	if f.Secrets != nil {
		if v, ok := f.Secrets(name); ok {
			return v, true
		}
	}
	return os.LookupEnv(name)
}

// credentials resolves the credential fields of a.
func (f *Fetcher) credentials(a system.Addr) (creds, error) {
	var c creds
	var texts []string
	for _, x := range []struct {
		field, text string
		to          *string
		secret      bool
	}{
		{"username", a.Username, &c.username, false},
		{"password", a.Password, &c.password, true},
		{"token", a.Token, &c.token, true},
		{"ssh_key", a.SSHKey, &c.sshKey, false},
		{"ssh_passphrase", a.SSHPassphrase, &c.passphrase, true},
	} {
		var missing []string
		out := refRE.ReplaceAllStringFunc(x.text, func(m string) string {
			name := refRE.FindStringSubmatch(m)[1]
			v, ok := f.lookup(name)
			if !ok {
				missing = append(missing, name)
			}
			return v
		})
		if len(missing) > 0 {
			return creds{}, &credError{field: x.field, name: missing[0]}
		}
		*x.to = out
		if x.secret {
			texts = append(texts, out)
		}
	}
	if strings.HasPrefix(c.sshKey, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			c.sshKey = filepath.Join(home, c.sshKey[2:])
		}
	}
	c.secrets = mask.New(texts...)
	return c, nil
}

// credError is a ${NAME} of a credential field that nothing sets.
type credError struct{ field, name string }

func (e *credError) Error() string {
	key := strings.ToLower(strings.TrimPrefix(e.name, "SEC_"))
	if strings.HasPrefix(e.name, "SEC_") {
		return fmt.Sprintf("%s: ${%s} is not set: add `%s: ...` to the secrets file (GAL_SEC_FILE_PATH, default ~/.galaxy/sec_value.yml)", e.field, e.name, key)
	}
	return fmt.Sprintf("%s: ${%s} is not set: set %s in the environment, or write ${SEC_%s} and add `%s: ...` to the secrets file", e.field, e.name, e.name, strings.ToUpper(e.name), key)
}

// isSSH reports whether a git address is reached over ssh: ssh:// (and
// git+ssh://) or the scp form user@host:path.
func isSSH(addr string) bool {
	if i := strings.Index(addr, "://"); i >= 0 {
		s := addr[:i]
		return s == "ssh" || s == "git+ssh" || s == "ssh+git"
	}
	at, colon := strings.Index(addr, "@"), strings.Index(addr, ":")
	return at > 0 && colon > at && !strings.Contains(addr[:colon], "/")
}

func isHTTP(addr string) bool {
	return strings.HasPrefix(addr, "http://") || strings.HasPrefix(addr, "https://")
}

// gitAuth selects how go-git authenticates to addr (the address after
// the mirrors): over http(s) a token is the password of basic auth with
// username (default "git", as galaxy-ops; GitLab wants oauth2, Bitbucket
// x-token-auth), else username and password; over ssh the key file with
// its passphrase, as the user of the address (default git), else go-git's
// default (the ssh agent); nothing for a local repository. A credential of
// the wrong kind for the transport is an error, never silently dropped.
func gitAuth(addr string, c creds) (transport.AuthMethod, error) {
	switch {
	case isHTTP(addr):
		if c.sshKey != "" {
			return nil, fmt.Errorf("ssh_key is for ssh addresses (ssh://host/repo, git@host:repo), not %s; over https give token", Redact(addr))
		}
		switch {
		case c.token != "":
			user := c.username
			if user == "" {
				user = "git"
			}
			return &githttp.BasicAuth{Username: user, Password: c.token}, nil
		case c.username != "":
			return &githttp.BasicAuth{Username: c.username, Password: c.password}, nil
		}
		return nil, nil
	case isSSH(addr):
		if c.token != "" || c.password != "" {
			return nil, fmt.Errorf("token and password are for https addresses, not %s; over ssh give ssh_key", Redact(addr))
		}
		if c.sshKey == "" {
			if os.Getenv("SSH_AUTH_SOCK") == "" {
				return nil, fmt.Errorf("%s is an ssh address and there is no key: give the module's addr ssh_key: ~/.ssh/<deploy key> (and ssh_passphrase: ${SEC_NAME} when the key has one), or run an ssh agent (SSH_AUTH_SOCK is not set)", Redact(addr))
			}
			return nil, nil
		}
		user := c.username
		if u, err := url.Parse(addr); err == nil && strings.Contains(addr, "://") && u.User != nil && u.User.Username() != "" {
			user = u.User.Username()
		} else if at := strings.Index(addr, "@"); at > 0 && !strings.Contains(addr, "://") {
			user = addr[:at]
		}
		if user == "" {
			user = "git"
		}
		k, err := gitssh.NewPublicKeysFromFile(user, c.sshKey, c.passphrase)
		if err != nil {
			// The error of a wrong passphrase names no secret; the
			// path of the key is not one.
			return nil, fmt.Errorf("ssh_key %s: %v", c.sshKey, err)
		}
		return k, nil
	}
	return nil, nil
}

// userinfoRE is the user part of a URL (user:password@).
var userinfoRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@`)

// Redact removes the user part (user:password@) of every URL in s: go-git
// and net/http errors quote the URL they were given.
func Redact(s string) string { return userinfoRE.ReplaceAllString(s, "$1") }

// clean is err's text with the user part of URLs removed and every
// credential of c masked, as an error.
func (c creds) clean(err error) error {
	if err == nil {
		return nil
	}
	return cleanError{c.secrets.String(Redact(err.Error()))}
}

type cleanError struct{ s string }

func (e cleanError) Error() string { return e.s }
