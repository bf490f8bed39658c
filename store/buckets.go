package store

// Bucket names. One bucket per entity; every name the store uses is here so
// a migration or an inspection tool has one place to look.
const (
	// bucketMeta holds the magic, schema version, last ID sequence,
	// cumulative stats, creation time and the audit head.
	bucketMeta = "meta"
	// bucketAlerts is keyed by alertKey: event-time nanos + sequence.
	bucketAlerts = "alerts"
	// bucketAlertIDs maps an alert ID to its key in bucketAlerts.
	bucketAlertIDs = "alert_ids"
	// bucketDecisions is keyed like bucketAlerts.
	bucketDecisions = "decisions"
	// bucketDecisionIDs maps a decision ID to its key in bucketDecisions.
	bucketDecisionIDs = "decision_ids"
	// bucketCheckpoints is keyed by a file source's origin.
	bucketCheckpoints = "checkpoints"
	// bucketSources is the per-source indicator index, keyed by sourceKey.
	bucketSources = "sources"
	// bucketOffenders is the escalation memory, keyed by the target prefix.
	bucketOffenders = "offenders"
	// bucketRejects is the dead letter, keyed by an 8-byte big-endian
	// sequence and capped at Options.MaxRejects.
	bucketRejects = "rejects"
	// bucketAudit is the append-only hash chain, keyed by an 8-byte
	// big-endian sequence starting at 1.
	bucketAudit = "audit"
)

// Keys in bucketMeta. magic, version and seq are raw (not schema-prefixed)
// because they identify the schema itself.
const (
	metaMagic     = "magic"      // magic bytes
	metaVersion   = "version"    // 8-byte big-endian schema version
	metaSeq       = "seq"        // 8-byte big-endian last ID sequence
	metaStats     = "stats"      // schema byte + JSON engine.Stats
	metaCreated   = "created"    // schema byte + JSON time
	metaAuditHead = "audit_head" // 8-byte big-endian seq + 32-byte sha256
)

// magic marks a bbolt file as phantomsoc's.
const magic = "phantomsoc"

// layoutBuckets lists every bucket of the current layout, meta first.
func layoutBuckets() []string {
	return []string{
		bucketMeta,
		bucketAlerts,
		bucketAlertIDs,
		bucketDecisions,
		bucketDecisionIDs,
		bucketCheckpoints,
		bucketSources,
		bucketOffenders,
		bucketRejects,
		bucketAudit,
	}
}
