package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/gxl-dev/gxl/core/retry"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
)

func registerEmail(r *builtin.Registry) {
	r.Add(&builtin.Builtin{
		Name: "notify.email", Doc: "Send a plain-text e-mail over SMTP (STARTTLS when the server offers it) to a list of recipients; retried; a failed delivery is a warning, never a failed step. An empty server or recipient list sends nothing.",
		Where: builtin.InBlock, Effect: builtin.Changes,
		Params: append([]builtin.Param{
			{Name: "server", Type: types.String, Required: true, Doc: "the SMTP server, host:port; empty: nothing is sent"},
			{Name: "from", Type: types.String, Required: true, Doc: "the sender address"},
			{Name: "to", Type: types.List, Required: true, Doc: "the recipients: a list, or a comma list in a string (\"a@x, b@x\"); empty: nothing is sent"},
			{Name: "subject", Type: types.String, Required: true, Doc: "the subject (one line; secrets of the run masked)"},
			{Name: "body", Type: types.String, Required: true, Positional: true, Doc: "the text (secrets of the run masked)"},
			{Name: "user", Type: types.String, Doc: "user for AUTH PLAIN (sent only over TLS, or to localhost)"},
			{Name: "password", Type: types.String, Doc: "password for AUTH PLAIN (never printed)"},
			{Name: "starttls", Type: types.Bool, Default: value.Bool(true), Doc: "upgrade to TLS when the server offers STARTTLS (false: never)"},
			{Name: "ca_file", Type: types.String, Doc: "PEM file of the certificates to trust for the server (a private CA); default: the system's roots"},
		}, deliveryParams()...),
		SetsVars: builtin.OutVar("NOTIFY"),
		Run:      runEmail,
	})
}

func runEmail(c builtin.Ctx, a builtin.Args) error {
	server, pass := strings.TrimSpace(a.Str("server")), a.Str("password")
	d := newDelivery(c, a, "notify.email", "smtp://"+server, pass)
	var to []string
	if v, ok := a.Value("to"); ok {
		for _, e := range v.ListVal() {
			if s := strings.TrimSpace(e.String()); s != "" {
				to = append(to, s)
			}
		}
	}
	d.extra["recipients"] = value.Int(int64(len(to)))
	switch {
	case server == "":
		return d.skip("no SMTP server")
	case len(to) == 0:
		return d.skip("no recipient")
	}
	m := mailMsg{server: server, user: a.Str("user"), pass: pass, starttls: a.Bool("starttls")}
	msg, bad := m.compose(c, a.Str("from"), to, a.Str("subject"), a.Str("body"))
	if bad == nil && a.Str("ca_file") != "" {
		m.roots, bad = loadRoots(a.Str("ca_file"))
	}
	return d.run(fmt.Sprintf("mail to %d recipient(s)", len(to)), func(ctx context.Context) error {
		if bad != nil {
			return retry.Permanent(bad)
		}
		return m.send(ctx, msg)
	})
}

// mailMsg is one message on its way: the envelope and how to reach the
// server.
type mailMsg struct {
	server, user, pass string
	starttls           bool
	roots              *x509.CertPool
	from               string
	to                 []string
}

// compose checks the addresses and builds the message: headers (the
// subject encoded when not ASCII, no line breaks), the body as
// quoted-printable UTF-8 text, both with the run's secrets masked.
func (m *mailMsg) compose(c builtin.Ctx, from string, to []string, subject, body string) ([]byte, error) {
	fa, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("from %q: %v", from, err)
	}
	m.from = fa.Address
	var shown []string
	for _, t := range to {
		ta, err := mail.ParseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("recipient %q: %v", t, err)
		}
		m.to = append(m.to, ta.Address)
		shown = append(shown, ta.String())
	}
	subject = strings.Join(strings.Fields(c.Mask(subject)), " ")
	var b bytes.Buffer
	id := make([]byte, 12)
	rand.Read(id)
	host := "gxl"
	if i := strings.LastIndexByte(m.from, '@'); i >= 0 {
		host = m.from[i+1:]
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%x@%s>\r\n",
		fa.String(), strings.Join(shown, ", "), mime.QEncoding.Encode("utf-8", subject), time.Now().Format(time.RFC1123Z), id, host)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(c.Mask(body), "\n", "\r\n")))
	qp.Close()
	b.WriteString("\r\n")
	return b.Bytes(), nil
}

// send delivers msg in one SMTP session: EHLO, STARTTLS when offered and
// wanted, AUTH when a user is given, MAIL, RCPT for each recipient, DATA.
// A 5xx answer is permanent (trying again cannot help); the rest is tried
// again.
func (m *mailMsg) send(ctx context.Context, msg []byte) error {
	host, _, err := net.SplitHostPort(m.server)
	if err != nil {
		return retry.Permanent(fmt.Errorf("server %q: want host:port", m.server))
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", m.server)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	cl, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return smtpErr(err)
	}
	defer cl.Close()
	if err := cl.Hello("localhost"); err != nil {
		return smtpErr(err)
	}
	if ok, _ := cl.Extension("STARTTLS"); ok && m.starttls {
		if err := cl.StartTLS(&tls.Config{ServerName: host, RootCAs: m.roots, MinVersion: tls.VersionTLS12}); err != nil {
			return smtpErr(fmt.Errorf("starttls: %w", err))
		}
	}
	if m.user != "" {
		if ok, _ := cl.Extension("AUTH"); !ok {
			return retry.Permanent(errors.New("the server offers no AUTH"))
		}
		if err := cl.Auth(smtp.PlainAuth("", m.user, m.pass, host)); err != nil {
			return smtpErr(fmt.Errorf("auth: %w", err))
		}
	}
	if err := cl.Mail(m.from); err != nil {
		return smtpErr(fmt.Errorf("from: %w", err))
	}
	for _, t := range m.to {
		if err := cl.Rcpt(t); err != nil {
			return smtpErr(fmt.Errorf("recipient %s: %w", t, err))
		}
	}
	w, err := cl.Data()
	if err != nil {
		return smtpErr(err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpErr(err)
	}
	if err := w.Close(); err != nil {
		return smtpErr(err)
	}
	// The server took the message: a failed QUIT must not send it twice.
	cl.Quit()
	return nil
}

// smtpErr marks an SMTP answer of class 5 permanent.
func smtpErr(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return retry.Permanent(err)
	}
	return err
}

func loadRoots(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificate", file)
	}
	return pool, nil
}
