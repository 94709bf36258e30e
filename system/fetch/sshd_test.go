package fetch

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gxl-dev/gxl/system"
)

// sshd starts OpenSSH's sshd (Debian openssh-server; make deps installs
// it) as the current user on a free loopback port, with a host key of
// its own and key authentication only: authorized is the public key it
// accepts. It returns the port and the known_hosts file that trusts it.
func sshd(t *testing.T, dir, authorized string) (port int, knownHosts string) {
	t.Helper()
	bin := "/usr/sbin/sshd"
	if _, err := os.Stat(bin); err != nil {
		t.Skip("no /usr/sbin/sshd (scripts/install-deps.sh installs openssh-server)")
	}
	hostKey := filepath.Join(dir, "host_ed25519")
	keygen(t, hostKey, "")
	if os.Geteuid() == 0 {
		// sshd run by root separates privileges in /run/sshd.
		os.MkdirAll("/run/sshd", 0o755)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := filepath.Join(dir, "sshd_config")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`ListenAddress 127.0.0.1
HostKey %s
PidFile %s
AuthorizedKeysFile %s
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel VERBOSE
`, hostKey, filepath.Join(dir, "sshd.pid"), authorized)), 0o600)
	var log bytes.Buffer
	cmd := exec.Command(bin, "-D", "-e", "-f", cfg, "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("sshd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen on %d: %v\n%s", port, err, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	pub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(pub))
	knownHosts = filepath.Join(dir, "known_hosts")
	os.WriteFile(knownHosts, []byte(fmt.Sprintf("[127.0.0.1]:%d %s %s\n", port, f[0], f[1])), 0o600)
	return port, knownHosts
}

// keygen writes an ed25519 key pair to file and file.pub.
func keygen(t *testing.T, file, passphrase string) {
	t.Helper()
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "gxl-test", "-f", file).CombinedOutput(); err != nil {
		t.Skipf("ssh-keygen: %v %s (scripts/install-deps.sh installs openssh-client)", err, out)
	}
}

// TestFetchOverSSH: a module over ssh (a real sshd on loopback, git's
// upload-pack on the other side) is fetched with its ssh_key (and the
// key's passphrase from the secrets), checked against known_hosts; no key,
// a key the server does not accept, a wrong passphrase and an unknown
// host key are errors that say so and never show the passphrase.
func TestFetchOverSSH(t *testing.T) {
	if _, err := exec.LookPath("git-upload-pack"); err != nil {
		if _, err := exec.LookPath("git"); err != nil {
			t.Skip("no git")
		}
	}
	base := t.TempDir()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	key, other := filepath.Join(base, "deploy_key"), filepath.Join(base, "other_key")
	keygen(t, key, "s3cret-pass")
	keygen(t, other, "")
	pub, _ := os.ReadFile(key + ".pub")
	authorized := filepath.Join(base, "authorized_keys")
	os.WriteFile(authorized, pub, 0o600)
	port, known := sshd(t, base, authorized)

	upstream := filepath.Join(base, "upstream", "ops")
	run := gitRepo(t, upstream)
	os.MkdirAll(filepath.Join(upstream, "workflows"), 0o755)
	commitFile(t, run, upstream, "workflows/operators.gxl", "mod operators { }\n")
	run("tag", "v1")
	repo := fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", u.Username, port, upstream)

	t.Setenv("SSH_KNOWN_HOSTS", known)
	t.Setenv("SSH_AUTH_SOCK", "")
	secrets := map[string]string{"SEC_KEY_PASS": "s3cret-pass", "SEC_WRONG": "not-the-pass"}
	f := &Fetcher{Cache: filepath.Join(base, "cache"), Secrets: func(n string) (string, bool) { v, ok := secrets[n]; return v, ok }}
	for i, c := range []struct {
		name      string
		addr      system.Addr
		knownHost string
		err       string // "" fetched
	}{
		{name: "key and passphrase", addr: system.Addr{Repo: repo, Tag: "v1", SSHKey: key, SSHPassphrase: "${SEC_KEY_PASS}"}},
		{name: "no key and no agent", addr: system.Addr{Repo: repo, Tag: "v1"}, err: "is an ssh address and there is no key: give the module's addr ssh_key"},
		{name: "a key the server refuses", addr: system.Addr{Repo: repo, Tag: "v1", SSHKey: other}, err: "unable to authenticate"},
		{name: "a wrong passphrase", addr: system.Addr{Repo: repo, Tag: "v1", SSHKey: key, SSHPassphrase: "${SEC_WRONG}"}, err: "ssh_key " + key},
		{name: "an unknown host key", addr: system.Addr{Repo: repo, Tag: "v1", SSHKey: key, SSHPassphrase: "${SEC_KEY_PASS}"}, knownHost: "none", err: "key is unknown"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.knownHost == "none" {
				empty := filepath.Join(base, "known_hosts_empty")
				os.WriteFile(empty, nil, 0o600)
				t.Setenv("SSH_KNOWN_HOSTS", empty)
				// A fresh cache: the mirror of the first case is not used.
				f = &Fetcher{Cache: filepath.Join(base, "cache2"), Secrets: f.Secrets}
			}
			dst := filepath.Join(base, "sys", "mods", fmt.Sprint("ops", i))
			_, err := f.Fetch(base, &system.Module{Name: "ops", Addr: c.addr}, dst, &Lock{})
			if c.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if b, _ := os.ReadFile(filepath.Join(dst, "workflows", "operators.gxl")); string(b) != "mod operators { }\n" {
					t.Fatalf("fetched %q", b)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("got %v, want an error with %q", err, c.err)
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("the error shows a secret: %v", err)
				}
			}
		})
	}
}
