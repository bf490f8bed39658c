// Package engine holds phantomsoc's core types and the Engine that moves events
// from sources through detection, assessment and decision to the store.
//
// It imports only the standard library: its sub-packages implement the
// interfaces declared here, and cmd/phantomsoc wires them together.
package engine

import (
	"net/netip"
	"time"
)

// Event types. The names are a contract: `parse --output json` prints them and
// scenarios match on them.
const (
	// TypeSSHAuthFailure is a failed authentication attempt (password,
	// keyboard-interactive, none, publickey, PAM authentication failure).
	TypeSSHAuthFailure = "ssh.auth.failure"
	// TypePAMFailure is a pam_unix(sshd:auth) failure that sshd reports
	// again in its own "Failed …" line: it names the peer but is not counted,
	// or every attempt would count twice.
	TypePAMFailure = "ssh.auth.pam_failure"
	// TypeSSHInvalidUser is an attempt for a user that does not exist or is
	// not allowed to log in.
	TypeSSHInvalidUser = "ssh.auth.invalid_user"
	// TypeSSHMaxAttempts is sshd giving up on a connection after too many
	// failures (maximum authentication attempts exceeded, Too many
	// authentication failures).
	TypeSSHMaxAttempts = "ssh.auth.max_attempts"
	// TypeSSHAuthSuccess is an accepted login.
	TypeSSHAuthSuccess = "ssh.auth.success"
	// TypeSSHPreauthClose is a connection closed, reset or disconnected before
	// authentication completed.
	TypeSSHPreauthClose = "ssh.preauth.close"
	// TypeSSHNegotiation is a protocol-level failure before authentication:
	// kex/negotiation errors, bad banners, no identification string, timeouts.
	TypeSSHNegotiation = "ssh.preauth.negotiation"
	// TypeSSHRefused is a connection refused by sshd's access control.
	TypeSSHRefused = "ssh.refused"
	// TypeSSHConnection is an informational "Connection from" line; it is
	// never an indicator but lets later address-less lines be attributed.
	TypeSSHConnection = "ssh.connection"
	// TypeSSHOther is a recognised sshd line that carries no signal
	// (session opened/closed, normal disconnects after login).
	TypeSSHOther = "ssh.other"

	// TypeIDSAlert is a Suricata EVE alert.
	TypeIDSAlert = "ids.alert"
	// TypeIDSFlow, TypeIDSStats, TypeIDSDNS, TypeIDSHTTP, TypeIDSTLS and
	// TypeIDSOther are EVE records that are accepted and counted but are not
	// indicators.
	TypeIDSFlow  = "ids.flow"
	TypeIDSStats = "ids.stats"
	TypeIDSDNS   = "ids.dns"
	TypeIDSHTTP  = "ids.http"
	TypeIDSTLS   = "ids.tls"
	TypeIDSOther = "ids.other"

	// TypeGeneric is an event that arrived as a JSON line with an explicit
	// type outside the families above.
	TypeGeneric = "generic"
)

// Types returns every event type, in a fixed order: what scenarios may
// name.
func Types() []string {
	return []string{
		TypeSSHAuthFailure, TypePAMFailure, TypeSSHInvalidUser, TypeSSHMaxAttempts, TypeSSHAuthSuccess,
		TypeSSHPreauthClose, TypeSSHNegotiation, TypeSSHRefused, TypeSSHConnection, TypeSSHOther,
		TypeIDSAlert, TypeIDSFlow, TypeIDSStats, TypeIDSDNS, TypeIDSHTTP, TypeIDSTLS, TypeIDSOther,
		TypeGeneric,
	}
}

// Event is one normalised security observation. Parsers fill it; the engine
// never mutates an event after detection has seen it.
type Event struct {
	// Time is the event's own time (from the log line), never the time it
	// was read. Zero when the line carried none and no clock was given.
	Time time.Time `json:"time"`
	// Type is one of the Type* constants.
	Type string `json:"type"`
	// Indicator reports whether the event counts toward an attack.
	Indicator bool `json:"indicator"`
	// Source is the blamed peer address (IPv4-mapped IPv6 normalised to
	// IPv4). Invalid when the event names none.
	Source netip.Addr `json:"source,omitzero"`
	// SourceHost is an unresolved host name that sshd logged instead of an
	// address (UseDNS). Such a source is never decided against.
	SourceHost string `json:"source_host,omitempty"`
	SourcePort uint16 `json:"source_port,omitempty"`
	// Dest is the attacked address when known (EVE dest_ip).
	Dest     netip.Addr `json:"dest,omitzero"`
	DestPort uint16     `json:"dest_port,omitempty"`
	Proto    string     `json:"proto,omitempty"`
	// Host is the host that logged the event (syslog HOSTNAME, EVE host).
	Host    string `json:"host,omitempty"`
	Program string `json:"program,omitempty"`
	PID     int    `json:"pid,omitempty"`
	// User is the account named by the attempt ("" when none).
	User string `json:"user,omitempty"`
	// Method is the authentication method (password, publickey,
	// keyboard-interactive, none) when logged.
	Method string `json:"method,omitempty"`
	// Pattern names the parser rule that recognised the line; `parse`
	// reports hit counts per pattern.
	Pattern string `json:"pattern,omitempty"`

	// IDS fields (Suricata EVE alerts).
	Signature   string `json:"signature,omitempty"`
	SignatureID int64  `json:"signature_id,omitempty"`
	Category    string `json:"category,omitempty"`
	// Severity is Suricata's 1 (highest) to 3; 0 when not an IDS alert.
	Severity int `json:"severity,omitempty"`

	// Origin names where the event came from (file path, "stdin",
	// "syslog-udp:127.0.0.1:5514").
	Origin string `json:"origin,omitempty"`
	// Line is the 1-based line number in Origin, 0 when not line based.
	Line int64 `json:"line,omitempty"`
	// Raw is the input line as read (possibly cut at the line limit).
	Raw string `json:"raw,omitempty"`
	// Count is how many identical occurrences this event stands for (syslog
	// "message repeated N times", dedup folding). Zero means one.
	Count int `json:"count,omitempty"`

	// Ident is the event's dedup fingerprint, Identity(ev), which a source
	// computes while the line is still in its CPU's cache; 0 means not
	// computed, and the Deduper computes it.
	Ident uint64 `json:"-"`

	// Enrichment, filled by the Enricher.
	Asset *Asset `json:"asset,omitempty"`
	Geo   *Geo   `json:"geo,omitempty"`
}

// N returns how many occurrences the event stands for (at least one).
func (e *Event) N() int {
	if e.Count < 1 {
		return 1
	}
	return e.Count
}

// Asset is an inventory entry from the config: what the attacked host is and
// how much it matters.
type Asset struct {
	Name string `json:"name"`
	Role string `json:"role,omitempty"`
	// Criticality is 1 (lab box) to 5 (crown jewels).
	Criticality int    `json:"criticality"`
	Owner       string `json:"owner,omitempty"`
	// Exposure is "internet", "internal" or "" (unknown).
	Exposure string `json:"exposure,omitempty"`
	// Gateways lists the gateways that front this asset.
	Gateways []string `json:"gateways,omitempty"`
}

// Geo is optional GeoIP/ASN enrichment of an event's source.
type Geo struct {
	Country string `json:"country,omitempty"`
	ASN     uint32 `json:"asn,omitempty"`
	Org     string `json:"org,omitempty"`
}
