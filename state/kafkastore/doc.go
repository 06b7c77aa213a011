// Package kafkastore keeps the publisher's state (state.State, per
// operation and skill) in a compacted Kafka topic instead of a local
// directory, so that every replica and every command (run, once, backfill)
// reads and writes one record. *Store has the Load and Save of state.Dir and
// encodes states with state.Encoder, so a field added to State travels here
// unchanged.
//
// # The topic
//
// One topic, default KAFKA_TOPIC + ".state", with cleanup.policy=compact
// and exactly one partition: one partition gives every record one total
// order, which the conditional saves below need, and the state is a few
// records every five minutes per skill, far below what one partition takes.
// Open creates it when CreateTopic is set (KAFKA_CREATE_TOPICS) and then
// checks it: missing, not compacted or with more than one partition, Open
// fails with a *TopicError that says what is wrong and how to fix it.
//
// # Records
//
// A Save of key K writes, under a save id S that is new for every Save:
//
//	K#S#0 ... K#S#n-1   the chunks: the state file (state.Encoder) cut in ChunkBytes pieces
//	K#S                 the manifest (JSON): S, the save it replaces (its base), the writer's instance id,
//	                    the number of chunks and bytes, and the pending window if any
//
// where K is operation/skill, each part path-escaped, so that no part
// holds '/' or '#'. The chunks are written first and the manifest only once
// every chunk is acknowledged, so a reader never sees half a state: Load
// trusts manifests only, and a manifest names chunks that precede it. Once
// its save is current, the writer writes tombstones (manifest first, then
// chunks) for the saves it replaced, so that compaction removes them; every
// key is written once and removed only by its tombstone, so compaction never
// changes which saves a reader sees.
//
// Why chunks rather than a larger max.message.bytes: a 100,000-row window
// plus its write-ahead record is several times the 1 MB that brokers,
// managed Kafka offerings and consumers' fetch sizes allow by default
// (BENCHMARKS.md, "state in Kafka"), and it grows with the rows; chunks of 512 KiB work on any topic
// left at its defaults, with no broker or topic setting to keep in step with
// the largest window.
//
// # One record decides
//
// A Save is conditional: it replaces the save that this Store last returned
// from Load or wrote with Save for that key (its base). Every reader applies
// manifests in the topic's order and takes a manifest as the key's current
// save only if its base is the current save (or the key has none yet);
// any other is a losing save, ignored by every reader alike. So of two
// replicas that both believe they are active and both save the write-ahead
// record of one window on the same base, the first in the topic's order
// decides: Save of the second returns a *ConflictError holding the state
// that won, and when that state holds the write-ahead record of the same
// window and revision (ConflictError.SameWindow), the caller publishes
// exactly that record, or else backs off and loads again. A losing writer
// tombstones its own save; the next current save's writer tombstones any
// losing save left behind, before the saves it replaced, so that a reader
// of a compacted topic meets the current save before any loser.
//
// Open reads the topic to its end (the high watermark at open), then keeps
// reading in the background, so Load answers from memory and sees the saves
// of other replicas as they arrive; CatchUp waits until everything written
// before it has been read (a standby about to become active calls it before
// its first Load). Save returns once its own manifest has been read back
// and judged. A Save whose manifest write failed returns an error but may
// still land (RELIABILITY.md 7): the next Save then conflicts with it, and
// the caller loads again, finding either its own state or the one before.
//
// ImportDir takes an existing STATE_DIR over into the topic once, after an
// upgrade.
//
// # Settings
//
// Its variables (package config reads them), with their defaults (the Kafka
// connection, TLS and SASL are the producer's: KAFKA_BROKERS and the rest):
//
//	KAFKA_STATE_TOPIC        KAFKA_TOPIC + ".state"  the state topic
//	KAFKA_STATE_CHUNK_BYTES  524288                  largest chunk of a state file in one record
//	INSTANCE_ID              host name, process id and a random suffix
//	                                                 tags this process's records; must differ between processes
package kafkastore
