package notify_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/internal/gxltest"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// mailbox is a real SMTP server on loopback (emersion/go-smtp) offering
// STARTTLS with a certificate made for the test and AUTH PLAIN; it keeps
// every message it accepts.
type mailbox struct {
	addr   string
	caFile string
	mu     sync.Mutex
	msgs   []received
	reject string // a recipient answered 550
}

// received is one accepted message and how it came.
type received struct {
	from     string
	to       []string
	data     []byte
	tls      bool
	user     string
	password string
}

func newMailbox(t *testing.T) *mailbox {
	t.Helper()
	certPEM, keyPEM := selfSigned(t)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	mb := &mailbox{caFile: filepath.Join(t.TempDir(), "ca.pem")}
	if err := os.WriteFile(mb.caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{mb: mb, conn: c}, nil
	}))
	s.Domain = "localhost"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb.addr = l.Addr().String()
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return mb
}

func (mb *mailbox) got() []received {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]received(nil), mb.msgs...)
}

type session struct {
	mb   *mailbox
	conn *smtp.Conn
	cur  received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		s.cur.user, s.cur.password = user, pass
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.cur.from = from; return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == s.mb.reject {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, s.cur.tls = s.conn.TLSConnectionState()
	s.cur.data = b
	s.mb.mu.Lock()
	s.mb.msgs = append(s.mb.msgs, s.cur)
	s.mb.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.cur = received{user: s.cur.user, password: s.cur.password} }
func (s *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and localhost.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gxl test mail"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

// TestEmail sends through a real SMTP server: STARTTLS with a private CA
// and AUTH, the recipients from a comma list, the subject and body as a
// mail reader decodes them (the run's secrets masked); without STARTTLS
// the message comes in clear; a refused recipient is a warning, not tried
// again; a certificate nobody trusts is a warning too.
func TestEmail(t *testing.T) {
	mb := newMailbox(t)
	prog := `
mod envs { env default { } }
mod main {
    flow tls {
        notify.email(server: "${SMTP}", from: "gxl <gxl@example.com>", to: "${RCPT}", subject: "[critical] failover of postgres_primary — started",
            body: "the primary is down.\nkey ${SEC_KEY}\n.\nend", user: "alerts", password: "${SEC_KEY}", ca_file: "${CA}", delay: "1ms");
        gx.echo("tls delivered=${NOTIFY.delivered} recipients=${NOTIFY.recipients}");
    }
    flow plain {
        notify.email(server: "${SMTP}", from: "gxl@example.com", to: ["ops@example.com"], subject: "plain", body: "b", starttls: false, delay: "1ms");
        gx.echo("plain delivered=${NOTIFY.delivered}");
    }
    flow refused {
        notify.email(server: "${SMTP}", from: "gxl@example.com", to: "nobody@example.com", subject: "s", body: "b", ca_file: "${CA}", delay: "1ms");
        gx.echo("refused delivered=${NOTIFY.delivered} attempts=${NOTIFY.attempts}");
    }
    flow untrusted {
        notify.email(server: "${SMTP}", from: "gxl@example.com", to: "ops@example.com", subject: "s", body: "b", attempts: 1);
        gx.echo("untrusted delivered=${NOTIFY.delivered}");
    }
}`
	mb.reject = "nobody@example.com"
	vars := map[string]value.Value{
		"SMTP": value.Str(mb.addr), "CA": value.Str(mb.caFile),
		"RCPT":    value.Str("ops@example.com, Dba <dba@example.com>"),
		"SEC_KEY": value.Str("s3cr3t-pass"),
	}
	run := func(flow, want string) string {
		t.Helper()
		out, log, err := gxltest.RunLog(t, prog, flow, builtin.Host{}, vars)
		if err != nil {
			t.Fatalf("%s: the flow failed: %v\n%s", flow, err, log)
		}
		if !strings.Contains(out, want) {
			t.Errorf("%s: output %q, want %q\n%s", flow, out, want, log)
		}
		if strings.Contains(out+log, "s3cr3t-pass") {
			t.Errorf("%s: the password reached the output or the log:\n%s", flow, log)
		}
		return log
	}

	run("tls", "tls delivered=true recipients=2")
	msgs := mb.got()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if !m.tls || m.user != "alerts" || m.password != "s3cr3t-pass" || m.from != "gxl@example.com" ||
		strings.Join(m.to, " ") != "ops@example.com dba@example.com" {
		t.Errorf("envelope: tls=%v user=%q from=%q to=%v", m.tls, m.user, m.from, m.to)
	}
	parsed, err := mail.ReadMessage(strings.NewReader(string(m.data)))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
	body, _ := io.ReadAll(quotedprintable.NewReader(parsed.Body))
	if subject != "[critical] failover of postgres_primary — started" {
		t.Errorf("subject %q", subject)
	}
	if want := "the primary is down.\r\nkey ***\r\n.\r\nend\r\n"; string(body) != want {
		t.Errorf("body %q, want %q", body, want)
	}
	if to := parsed.Header.Get("To"); !strings.Contains(to, "<ops@example.com>") || !strings.Contains(to, `"Dba" <dba@example.com>`) {
		t.Errorf("To: %q", to)
	}

	run("plain", "plain delivered=true")
	if msgs := mb.got(); len(msgs) != 2 || msgs[1].tls {
		t.Errorf("starttls: false must send in clear: %+v", msgs[len(msgs)-1])
	}

	log := run("refused", "refused delivered=false attempts=1")
	if !strings.Contains(log, "WARN\tnotify.email mail to 1 recipient(s) to smtp://"+mb.addr+": not delivered after 1 attempt(s): recipient nobody@example.com: 550") {
		t.Errorf("log:\n%s", log)
	}

	log = run("untrusted", "untrusted delivered=false")
	if !strings.Contains(log, "starttls: tls: failed to verify certificate") {
		t.Errorf("a certificate signed by no trusted CA must not be accepted:\n%s", log)
	}
	if n := len(mb.got()); n != 2 {
		t.Errorf("%d messages in all, want 2", n)
	}
}
