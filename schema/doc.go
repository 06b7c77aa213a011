// Package schema is the event contract that skill6pub publishes to Kafka:
// the event types, their JSON Schema, deterministic event ids, DNIS
// pseudonymization, the Kafka key and the CloudEvents headers. Every other
// package speaks these types.
//
// # Event ids
//
// An event id is the first 16 bytes, in lower-case hex (32 characters), of
// a SHA-256 in two steps:
//
//	window = SHA-256( "skill6pub.event_id.v2"
//	                  || for each of event_type, operation, skill_id:
//	                         uint32 big-endian length in bytes || the UTF-8 bytes
//	                  || int64 big-endian window_start in Unix seconds (the instant, any zone)
//	                  || int64 big-endian window_end in Unix seconds
//	                  || int64 big-endian revision
//	                  || 0x00 when no previous window was known, or
//	                     0x01 || int64 big-endian previous_window_start in Unix seconds )
//	id     = SHA-256( window || uint32 big-endian length of the subject || the subject )
//
// The first step is shared by all the events of one type of a window and
// revision and is computed once; each event then costs one SHA-256 block.
// The subject is the DNIS as published (the HMAC when pseudonymization is
// on) for dnis_window and dnis_gone, and [WindowSubject] for window_closed.
// event_type is part of the input so that a dnis_window and a dnis_gone of
// the same DNIS and window never share an id. 128 bits keep accidental
// collisions out of reach for any realistic number of events.
//
// The rule: an id is a function of every input that shapes the event's
// content. The window's bounds (both ends: windows of another INTERVAL
// never share an id), the revision and the window it was compared with
// (change, previous, delta and dnis_gone come from it) are inputs of the
// hash. The fetched data is not: each window is published once from one
// fetch, kept as a write-ahead record until Kafka acknowledged it, and a
// window published again (after a crash, by any command) goes out from that
// record with the same bytes, fetched_at included. Late data of a published window goes out as a revision, under
// other ids. Consumers keep the first copy of each id.
//
// Dead letters use the same construction with event_type "dead_letter" and
// the subject "event:<event_id>" for an event that could not be published.
// A rejected row's subject is "row:<digest>:<n>" ("typed_row:<digest>:<n>"
// for a row refused after it was typed), the digest being RowDigest of the
// row as published and n the number of identical rows before it in the
// response, and its revision in the hash is always 0: every revision of a
// window that sees the same bad row gives it the same id, and a revision
// sends only the dead letters its window has not published yet.
//
// # Kafka records
//
// The key is {operation}:{skill_id}:{dnis} for dnis_window and dnis_gone,
// and {operation}:{skill_id} for window_closed and dead letters. The headers
// follow the CloudEvents 1.0 Kafka protocol binding in binary mode:
//
//	ce_specversion  1.0
//	ce_id           the event_id (dead_letter_id for a dead letter)
//	ce_type         com.github.skill6pub.<event_type>.v<schema_version>
//	ce_source       /wolkvox/<operation>/skill_6/<skill_id> (path-escaped)
//	ce_subject      the DNIS (dnis_window, dnis_gone), or window_start
//	                (window_closed, dead letters)
//	ce_time         window_end, RFC 3339 with the operation's offset
//	ce_dataschema   DataSchema(type): the $id of the JSON Schema document,
//	                with #/$defs/<event_type> for an event
//	content-type    application/json
//
// ce_type is reverse-DNS named after this project because skill6pub, not
// wolkvox, defines what the events mean, and it carries the schema version
// so that a breaking change routes to new handlers. ce_time is the end of
// the window, the moment its calls were complete, so that every copy and
// every revision of a window's events carries the same time; when the data
// was read is fetched_at in the body.
package schema
