package notifiers

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/textproto"
	"os"
	"regexp"
	"strings"
	"sync"
)

const redacted = "[redacted]"

// Secret is a credential resolved from an environment variable or a file
// at construction. Every way of printing it (fmt verbs, JSON, text,
// slog) shows "[redacted]". The value sits behind a pointer so that even
// reflection-based printing of a struct holding a Secret shows an address,
// not the value.
type Secret struct {
	p *string
}

// NewSecret wraps v.
func NewSecret(v string) Secret { return Secret{p: &v} }

// String returns "[redacted]".
func (s Secret) String() string { return redacted }

// GoString returns "[redacted]".
func (s Secret) GoString() string { return redacted }

// Format prints "[redacted]" for every verb, so %x or %q cannot leak it.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalJSON returns "[redacted]" as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText returns "[redacted]" (YAML and other text encoders).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue returns "[redacted]".
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// IsZero reports whether no value is held.
func (s Secret) IsZero() bool { return s.p == nil || *s.p == "" }

// reveal returns the value, for the one place that puts it on the wire.
func (s Secret) reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// maxSecretFile bounds a *_file secret: a credential, not a document.
const maxSecretFile = 64 << 10

var envName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// validateSecretRef checks a pair of *_env / *_file fields: at most one
// set (exactly one when required), and a plausible variable name.
func validateSecretRef(errs *fieldErrs, field, env, file string, required bool) {
	switch {
	case env != "" && file != "":
		errs.add(field+"_env", "set only one of %s_env and %s_file", field, field)
	case env == "" && file == "" && required:
		errs.add(field+"_env", "required: set %s_env or %s_file", field, field)
	case env != "" && !envName().MatchString(env):
		errs.add(field+"_env", "%q is not an environment variable name", env)
	}
}

// loadSecret resolves a *_env / *_file pair; a trailing newline in a file
// is dropped (editors add one). An unset pair resolves to the zero Secret.
func loadSecret(field, env, file string) (Secret, error) {
	switch {
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return Secret{}, fmt.Errorf("%s_env: environment variable %s is unset or empty", field, env)
		}
		return NewSecret(v), nil
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return Secret{}, fmt.Errorf("%s_file: %w", field, err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
		if err != nil {
			return Secret{}, fmt.Errorf("%s_file: read %s: %w", field, file, err)
		}
		if len(b) > maxSecretFile {
			return Secret{}, fmt.Errorf("%s_file: %s is larger than %d bytes", field, file, maxSecretFile)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return Secret{}, fmt.Errorf("%s_file: %s is empty", field, file)
		}
		return NewSecret(v), nil
	}
	return Secret{}, nil
}

// HeaderConfig is one extra HTTP header. With value_env or value_file the
// header's value is Value followed by the secret, so
// {name: Authorization, value: "Bearer ", value_env: GW_TOKEN} sends a
// bearer token without it ever appearing in the config.
type HeaderConfig struct {
	Name      string `yaml:"name" json:"name"`
	Value     string `yaml:"value,omitempty" json:"value,omitempty"`
	ValueEnv  string `yaml:"value_env,omitempty" json:"value_env,omitempty"`
	ValueFile string `yaml:"value_file,omitempty" json:"value_file,omitempty"`
}

// reservedHeaders are set by the transport or by us; a config may not
// override them (a spoofed signature or a smuggled length).
var reservedHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Content-Type": true, "Transfer-Encoding": true,
	"Connection": true, "Te": true, "Trailer": true, "Upgrade": true, "Expect": true,
	"X-Phantomsoc-Signature": true, "X-Phantomsoc-Key": true, "X-Phantomsoc-Timestamp": true,
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue rejects control characters (CR/LF would split the
// header; NUL is refused by servers).
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func validateHeaders(errs *fieldErrs, field string, hs []HeaderConfig) {
	seen := map[string]bool{}
	for i, h := range hs {
		f := fmt.Sprintf("%s[%d]", field, i)
		canon := textproto.CanonicalMIMEHeaderKey(h.Name)
		switch {
		case !validHeaderName(h.Name):
			errs.add(f+".name", "%q is not a valid header name", h.Name)
		case reservedHeaders[canon]:
			errs.add(f+".name", "%s is set by phantomsoc and cannot be overridden", canon)
		case seen[canon]:
			errs.add(f+".name", "duplicate header %s", canon)
		}
		seen[canon] = true
		if !validHeaderValue(h.Value) {
			errs.add(f+".value", "contains control characters")
		}
		validateSecretRef(errs, f+".value", h.ValueEnv, h.ValueFile, false)
	}
}

// header is a resolved HeaderConfig.
type header struct {
	name  string
	value Secret
}

func loadHeaders(field string, hs []HeaderConfig) ([]header, error) {
	out := make([]header, 0, len(hs))
	for i, h := range hs {
		v := h.Value
		if h.ValueEnv != "" || h.ValueFile != "" {
			s, err := loadSecret(fmt.Sprintf("%s[%d].value", field, i), h.ValueEnv, h.ValueFile)
			if err != nil {
				return nil, err
			}
			if !validHeaderValue(s.reveal()) {
				// Do not quote the value: it is a secret.
				return nil, fmt.Errorf("%s[%d].value: secret contains control characters", field, i)
			}
			v += s.reveal()
		}
		out = append(out, header{name: textproto.CanonicalMIMEHeaderKey(h.Name), value: NewSecret(v)})
	}
	return out, nil
}

func setHeaders(req *http.Request, hs []header) {
	for _, h := range hs {
		req.Header.Set(h.name, h.value.reveal())
	}
}

// scrubbed is an error whose text had secrets replaced. It keeps errors.Is
// on the cause (context.DeadlineExceeded) but does not Unwrap, so neither
// %+v nor a walk of the chain can reach the original text.
type scrubbed struct {
	msg   string
	cause error
}

func (s *scrubbed) Error() string { return s.msg }

func (s *scrubbed) Is(target error) bool { return errors.Is(s.cause, target) }

// scrub returns err, or a copy of its text with every secret value
// replaced when any appears in it (a webhook URL inside a *url.Error).
func scrub(err error, secrets ...Secret) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	hit := false
	for _, s := range secrets {
		if v := s.reveal(); v != "" && strings.Contains(msg, v) {
			msg = strings.ReplaceAll(msg, v, redacted)
			hit = true
		}
	}
	if !hit {
		return err
	}
	return &scrubbed{msg: msg, cause: err}
}
