package producer

import (
	"context"

	"github.com/segmentio/kafka-go"

	"github.com/skill6pub/skill6pub/schema"
)

// PublishTable writes one window's events to the compacted table topic
// (KAFKA_TABLE_TOPIC), the way a KTable, a ksqlDB TABLE or an upsert sink
// holds the stream: each dnis_window as its DNIS's value, a tombstone (a
// null value) for each dnis_gone, and the window_closed under the skill's
// key. Keys, partitions (murmur2), headers and record timestamps (the
// window's end) are those of the events topic, and a value is byte for
// byte the event's. An event that Publish diverts to the dead-letter topic
// (oversized, unencodable) leaves a tombstone, so that the table never
// keeps an older value for a key this window has no valid value for.
//
// Call it after Publish of the same events succeeded, and only with the
// events of a skill's latest published window (revision 0 of a new
// window, or a revision of that latest window): compaction keeps the last
// record of each key, so the events of an older window, or of a revision
// of one, would move keys back in time. Folded in offset order (last value
// per key, null deletes), the topic then equals each skill's latest window:
// its DNIS with their dnis_window and its window_closed.
//
// The events go out a chunk at a time like Publish's. An error is a
// *PublishError like Publish's; publishing the same events again is
// harmless (compaction keeps one copy).
func (p *Producer) PublishTable(ctx context.Context, events schema.Events) error {
	p.publishing.RLock()
	defer p.publishing.RUnlock()
	ctx, cancel := context.WithTimeout(ctx, p.cfg.WriteTimeout)
	defer cancel()
	if events == nil {
		return nil
	}
	var r recycler
	n := events.Len()
	skill := "" // of the window, the metrics' label: the events are asked for once each
	for from := 0; from < n; from += p.chunkEvents {
		to := min(from+p.chunkEvents, n)
		var mem chunkMemory
		chunk := events.Slice(from, to)
		if skill == "" && len(chunk) > 0 {
			skill = chunk[0].Head().SkillID
		}
		b := p.encodeTableChunk(chunk, &r, &mem)
		if err := p.send(ctx, &b, n); err != nil {
			p.countFailure(skill)
			return err
		}
		r.release(&mem)
	}
	return nil
}

// encodeTableChunk encodes events as table records into memory from r.
func (p *Producer) encodeTableChunk(events []schema.Event, r *recycler, mem *chunkMemory) batch {
	msgs, failures := encodeAll(p.settings.tableTopic, events, r, mem)
	kept := msgs[:0] // in place: the table records are never more
	for i, e := range events {
		m := msgs[i]
		switch {
		case len(failures) > 0 && failures[0].at == i:
			failures = failures[1:]
			m = kafka.Message{Topic: m.Topic, Key: []byte(e.Key()), Time: e.Head().WindowEnd}
		case e.Head().EventType == schema.TypeDNISGone:
			m.Value = nil
		case messageSize(&m) > p.cfg.BatchBytes:
			m.Value, m.Headers = nil, nil
		}
		if messageSize(&m) > p.cfg.BatchBytes {
			// Its key alone is too large: Kafka never stored a value
			// under it to delete.
			continue
		}
		kept = append(kept, m)
	}
	return batch{topic: p.settings.tableTopic, msgs: kept}
}
