package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Evidence types: what a collector gathers. The names are a contract with
// playbooks' collect steps and `phantomsoc evidence collect --type`.
const (
	// EvidenceLogs is a raw excerpt of a log file, with its file, inode and
	// byte offsets.
	EvidenceLogs = "logs"
	// EvidenceRuleset is a gateway's nftables ruleset as `nft -j` prints it.
	EvidenceRuleset = "ruleset"
	// EvidenceConnections is a gateway's connection table filtered to a
	// source (ss or conntrack).
	EvidenceConnections = "connections"
	// EvidenceAuthHistory is the authentication history of given users.
	EvidenceAuthHistory = "auth-history"
	// EvidencePcap is a packet capture (pcap) of a source's traffic.
	EvidencePcap = "pcap"
	// EvidenceEnrichment is a JSON snapshot of what is known about a
	// source: asset, GeoIP/ASN, prior alerts and decisions.
	EvidenceEnrichment = "enrichment"
)

// EvidenceTypes returns every evidence type in a fixed order.
func EvidenceTypes() []string {
	return []string{EvidenceLogs, EvidenceRuleset, EvidenceConnections, EvidenceAuthHistory, EvidencePcap, EvidenceEnrichment}
}

// EvidenceItem is one collected piece of evidence. The content itself lives
// in a content-addressed blob store; the item is its chain-of-custody
// record: what it is, where and when it came from, who took it, and the
// audit record that registered it.
type EvidenceItem struct {
	// ID is the lowercase hex SHA-256 of the content.
	ID   string `json:"id"`
	Type string `json:"type"`
	// Incident is the incident the item belongs to ("" for none).
	Incident string `json:"incident,omitempty"`
	// Source is where the content came from: a file path, a gateway
	// name, "store".
	Source string `json:"source"`
	// Collected is when the content was taken.
	Collected time.Time `json:"collected"`
	// Collector is the actor who took it: an analyst, "playbook:NAME".
	Collector string `json:"collector"`
	// Size is the content's length in bytes.
	Size int64 `json:"size"`
	// Meta says how exactly the content was taken: file, inode and
	// offsets, the command line, the capture filter.
	Meta map[string]string `json:"meta,omitempty"`
	// AuditSeq is the audit record that registered the item; 0 until it
	// is stored.
	AuditSeq uint64 `json:"audit_seq,omitempty"`
}

// Digest is the hex SHA-256 of the item's canonical JSON without AuditSeq:
// the audit record carries it, so a change to any custody field (a meta
// value, the collector, the time) is detectable, not just a change to the
// content.
func (it *EvidenceItem) Digest() string {
	c := *it
	c.AuditSeq = 0
	c.Collected = c.Collected.UTC()
	// Marshal cannot fail on strings, numbers, a time and a string map.
	b, _ := json.Marshal(&c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
