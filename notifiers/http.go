package notifiers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

const (
	// defaultTimeout bounds one HTTP or SMTP exchange.
	defaultTimeout = 10 * time.Second
	// maxRetryAfter caps what a far side may ask: a hostile or broken
	// server must not park a receiver for a day.
	maxRetryAfter = time.Hour
	// maxReply bounds how much of a response body is read.
	maxReply = 64 << 10
)

// newHTTPClient copies the injected client (or a fresh one), sets the
// timeout and refuses redirects: a redirect would carry signatures and
// secret headers to a host nobody configured.
func newHTTPClient(o Options, timeout time.Duration) *http.Client {
	c := &http.Client{}
	if o.HTTPClient != nil {
		*c = *o.HTTPClient
	}
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	c.Timeout = timeout
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// isLoopbackHost reports whether host is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// checkURL accepts https URLs, and http only to a loopback host (a local
// relay, a test). Userinfo is refused: credentials belong in *_env/*_file.
// The error never quotes raw, which may itself be a secret.
func checkURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a valid URL")
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("scheme must be https, not %q", u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return nil, errors.New("missing host")
	case u.User != nil:
		return nil, errors.New("credentials in the URL are not allowed; use a secret header")
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		return nil, fmt.Errorf("plain http is allowed only to a loopback host, not %q", u.Hostname())
	case u.Fragment != "":
		return nil, errors.New("fragment not allowed")
	}
	return u, nil
}

// validateURL is checkURL for a URL written in the config (not secret).
func validateURL(errs *fieldErrs, field, raw string) {
	if _, err := checkURL(raw); err != nil {
		errs.add(field, "%v", err)
	}
}

// reply is an HTTP answer, body bounded.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends req and reads a bounded reply. A transport error loses its
// *url.Error wrapper, which quotes the whole URL (a webhook URL is a
// secret); the host alone names the far side.
func do(client *http.Client, req *http.Request) (reply, error) {
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return reply{}, fmt.Errorf("%s to %s: %w", strings.ToLower(req.Method), req.URL.Hostname(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	// Drain a little more so the connection can be reused.
	_, _ = io.CopyN(io.Discard, resp.Body, maxReply)
	if err != nil {
		return reply{status: resp.StatusCode, header: resp.Header}, fmt.Errorf("read reply from %s: %w", req.URL.Hostname(), err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// classify maps an HTTP status to an outcome: 2xx delivered; 408, 425,
// 429 and 5xx temporary; other 4xx and 3xx (redirects are not followed)
// permanent.
func classify(status int) (ok, permanent bool) {
	switch {
	case status >= 200 && status < 300:
		return true, false
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly, status == http.StatusTooManyRequests:
		return false, false
	case status >= 500:
		return false, false
	case status >= 300:
		return false, true
	}
	return false, false
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP-date,
// capped at maxRetryAfter; 0 when absent or unparsable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// snippet is a printable prefix of a reply body for an error message.
func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	const n = 200
	cut := len(b) > n
	if cut {
		b = b[:n]
	}
	s := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, string(b))
	if cut {
		s += "…"
	}
	return s
}

// postResult turns an HTTP exchange into a Result and error, for channels
// whose far side follows plain HTTP semantics.
func postResult(receiver, channel string, r reply, err error, secrets ...Secret) (Result, error) {
	if err != nil {
		// No answer: the message may or may not have arrived; the caller
		// retries with the same key so the far side can dedup.
		return fail(receiver, channel, r.status, 0, false, scrub(err, secrets...))
	}
	ok, permanent := classify(r.status)
	if ok {
		return Result{Status: r.status}, nil
	}
	msg := fmt.Errorf("status %d: %s", r.status, snippet(r.body))
	if len(bytes.TrimSpace(r.body)) == 0 {
		msg = fmt.Errorf("status %d %s", r.status, http.StatusText(r.status))
	}
	return fail(receiver, channel, r.status, retryAfter(r.header, time.Now()), permanent, scrub(msg, secrets...))
}

// validateURLRef checks an endpoint given as exactly one of url, url_env
// (a secret: the URL embeds a token) or url_file.
func validateURLRef(errs *fieldErrs, url, env, file string) {
	n := 0
	for _, s := range []string{url, env, file} {
		if s != "" {
			n++
		}
	}
	switch {
	case n == 0:
		errs.add("url", "required: set url, url_env or url_file")
	case n > 1:
		errs.add("url", "set only one of url, url_env and url_file")
	case url != "":
		validateURL(errs, "url", url)
	case env != "":
		validateSecretRef(errs, "url", env, "", true)
	}
}
