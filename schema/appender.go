package schema

import (
	"encoding/json"
	"strconv"
	"time"
)

// The events' JSON is written by hand because encoding/json spends three
// quarters of Encode's time on reflection and on re-scanning the output of
// the metrics' MarshalJSON (27 calls per dnis_window): see BENCHMARKS.md.
// The output is byte for byte what encoding/json gives for the same struct
// (TestAppenderMatchesEncodingJSON checks every event type, golden and
// generated), so the struct tags stay the reference and consumers may
// decode with encoding/json.

func appendDNISWindow(b []byte, e *DNISWindow, windowMembers []byte) ([]byte, error) {
	b = appendEnvelope(b, &e.Envelope, windowMembers)
	b = appendStringField(b, `,"dnis":`, e.DNIS)
	b = appendBoolField(b, `,"dnis_hashed":`, e.DNISHashed)
	b = appendStringField(b, `,"change":`, string(e.Change))
	b = append(b, `,"source_rows":`...)
	b = strconv.AppendInt(b, int64(e.SourceRows), 10)
	b = append(b, `,"metrics":`...)
	b, err := appendMetrics(b, &e.Metrics)
	if err != nil {
		return b, err
	}
	b = appendBoolField(b, `,"previous_window_known":`, e.PreviousWindowKnown)
	b = append(b, `,"previous":`...)
	if b, err = appendMetricsOrNull(b, e.Previous); err != nil {
		return b, err
	}
	b = append(b, `,"delta":`...)
	if b, err = appendMetricsOrNull(b, e.Delta); err != nil {
		return b, err
	}
	return append(b, '}'), nil
}

func appendDNISGone(b []byte, e *DNISGone, windowMembers []byte) ([]byte, error) {
	b = appendEnvelope(b, &e.Envelope, windowMembers)
	b = appendStringField(b, `,"dnis":`, e.DNIS)
	b = appendBoolField(b, `,"dnis_hashed":`, e.DNISHashed)
	b = append(b, `,"previous":`...)
	b, err := appendMetrics(b, &e.Previous)
	if err != nil {
		return b, err
	}
	return append(b, '}'), nil
}

func appendWindowClosed(b []byte, e *WindowClosed, windowMembers []byte) ([]byte, error) {
	b = appendEnvelope(b, &e.Envelope, windowMembers)
	b = appendBoolField(b, `,"previous_window_known":`, e.PreviousWindowKnown)
	b = append(b, `,"previous_window_start":`...)
	var err error
	if e.PreviousWindowStart == nil {
		b = append(b, "null"...)
	} else if b, err = appendTime(b, *e.PreviousWindowStart); err != nil {
		return b, err
	}
	for _, f := range [...]struct {
		name string
		v    int
	}{
		{`,"row_count":`, e.RowCount},
		{`,"merged_rows":`, e.MergedRows},
		{`,"rejected_rows":`, e.RejectedRows},
		{`,"dnis_window_events":`, e.DNISWindowEvents},
		{`,"gone_count":`, e.GoneCount},
		{`,"repeat_callers":`, e.RepeatCallers},
	} {
		b = append(b, f.name...)
		b = strconv.AppendInt(b, int64(f.v), 10)
	}
	b = appendBoolField(b, `,"maybe_truncated":`, e.MaybeTruncated)
	b = appendBoolField(b, `,"no_data":`, e.NoData)
	t := &e.Totals
	b = append(b, `,"totals":{"inbound_calls":`...)
	b = strconv.AppendInt(b, t.InboundCalls, 10)
	b = append(b, `,"answer_calls":`...)
	b = strconv.AppendInt(b, t.AnswerCalls, 10)
	b = append(b, `,"abandon_calls":`...)
	b = strconv.AppendInt(b, t.AbandonCalls, 10)
	for _, f := range [...]struct {
		name string
		v    NullFloat
	}{
		{`,"service_level_10s_pct":`, t.ServiceLevel10sPct},
		{`,"service_level_20s_pct":`, t.ServiceLevel20sPct},
		{`,"service_level_30s_pct":`, t.ServiceLevel30sPct},
		{`,"abandon_pct":`, t.AbandonPct},
		{`,"asa_seconds":`, t.ASASeconds},
		{`,"ata_seconds":`, t.ATASeconds},
	} {
		b = append(b, f.name...)
		if b, err = appendNullFloat(b, f.v); err != nil {
			return b, err
		}
	}
	return append(b, "}}"...), nil
}

// appendEnvelope appends the envelope: the members that differ from event
// to event, then windowMembers, the rest formatted once for the window by
// appendWindowMembers.
func appendEnvelope(b []byte, e *Envelope, windowMembers []byte) []byte {
	b = appendStringField(b, `{"event_id":`, e.EventID)
	b = appendStringField(b, `,"event_type":`, e.EventType)
	b = append(b, `,"schema_version":`...)
	b = strconv.AppendInt(b, int64(e.SchemaVersion), 10)
	return append(b, windowMembers...)
}

// appendWindowMembers appends the members of the envelope after
// schema_version, from operation to producer: the same for every event of
// one window and revision.
func appendWindowMembers(b []byte, e *Envelope) ([]byte, error) {
	b = appendStringField(b, `,"operation":`, e.Operation)
	b = appendStringField(b, `,"skill_id":`, e.SkillID)
	var err error
	for _, f := range [...]struct {
		name string
		t    time.Time
	}{
		{`,"window_start":`, e.WindowStart},
		{`,"window_end":`, e.WindowEnd},
	} {
		b = append(b, f.name...)
		if b, err = appendTime(b, f.t); err != nil {
			return b, err
		}
	}
	b = append(b, `,"revision":`...)
	b = strconv.AppendInt(b, int64(e.Revision), 10)
	b = append(b, `,"fetched_at":`...)
	if b, err = appendMilliTime(b, e.FetchedAt.Time); err != nil {
		return b, err
	}
	b = appendStringField(b, `,"producer":{"name":`, e.Producer.Name)
	b = appendStringField(b, `,"version":`, e.Producer.Version)
	return append(b, '}'), nil
}

func appendMetricsOrNull(b []byte, m *Metrics) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	return appendMetrics(b, m)
}

// appendMetrics writes the nine members one by one: a loop over an array
// of names and values copied the six NullFloats on every call.
func appendMetrics(b []byte, m *Metrics) ([]byte, error) {
	b = appendNullInt(append(b, `{"inbound_calls":`...), m.InboundCalls)
	b = appendNullInt(append(b, `,"answer_calls":`...), m.AnswerCalls)
	b = appendNullInt(append(b, `,"abandon_calls":`...), m.AbandonCalls)
	var err error
	if b, err = appendNullFloat(append(b, `,"service_level_10s_pct":`...), m.ServiceLevel10sPct); err != nil {
		return b, err
	}
	if b, err = appendNullFloat(append(b, `,"service_level_20s_pct":`...), m.ServiceLevel20sPct); err != nil {
		return b, err
	}
	if b, err = appendNullFloat(append(b, `,"service_level_30s_pct":`...), m.ServiceLevel30sPct); err != nil {
		return b, err
	}
	if b, err = appendNullFloat(append(b, `,"abandon_pct":`...), m.AbandonPct); err != nil {
		return b, err
	}
	if b, err = appendNullFloat(append(b, `,"asa_seconds":`...), m.ASASeconds); err != nil {
		return b, err
	}
	if b, err = appendNullFloat(append(b, `,"ata_seconds":`...), m.ATASeconds); err != nil {
		return b, err
	}
	return append(b, '}'), nil
}

func appendBoolField(b []byte, name string, v bool) []byte {
	return strconv.AppendBool(append(b, name...), v)
}

func appendStringField(b []byte, name, s string) []byte {
	return appendString(append(b, name...), s)
}

// appendString writes s as a JSON string. Ids, DNIS, skills and versions
// are plain ASCII; anything else (control characters, quotes, HTML
// characters, non-ASCII) goes through encoding/json so that the escaping is
// exactly its own.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			quoted, _ := json.Marshal(s) // a string always encodes
			return append(b, quoted...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendTime is time.Time.MarshalJSON without the allocation: RFC 3339
// with the time's own offset, refusing what RFC 3339 cannot express.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	b, err := t.AppendText(append(b, '"'))
	return append(b, '"'), err
}
