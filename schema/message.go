package schema

import (
	"encoding/json"
	"time"
)

// Header is one Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Message is an event encoded for Kafka: key, JSON value and CloudEvents
// binary-mode headers.
type Message struct {
	Key     []byte
	Value   []byte
	Headers []Header
}

// Key returns {operation}:{skill_id}:{dnis}.
func (e *DNISWindow) Key() string { return e.Operation + ":" + e.SkillID + ":" + e.DNIS }

// Key returns {operation}:{skill_id}:{dnis}.
func (e *DNISGone) Key() string { return e.Operation + ":" + e.SkillID + ":" + e.DNIS }

// Key returns {operation}:{skill_id}.
func (e *WindowClosed) Key() string { return e.Operation + ":" + e.SkillID }

// Encode turns an event into a Kafka message.
func Encode(e Event) (Message, error) {
	value, err := json.Marshal(e)
	if err != nil {
		return Message{}, err
	}
	h := e.Head()
	return Message{
		Key:   []byte(e.Key()),
		Value: value,
		Headers: []Header{
			{Key: "ce_specversion", Value: []byte("1.0")},
			{Key: "ce_id", Value: []byte(h.EventID)},
			{Key: "ce_type", Value: []byte(h.EventType)},
			{Key: "ce_source", Value: []byte("wolkvox/" + h.Operation + "/skill_6/" + h.SkillID)},
			{Key: "ce_time", Value: []byte(h.FetchedAt.Format(time.RFC3339Nano))},
			{Key: "content-type", Value: []byte("application/json")},
		},
	}, nil
}

// EncodeDeadLetter turns a dead letter into a Kafka message keyed like the
// window it belongs to.
func EncodeDeadLetter(d DeadLetter) (Message, error) {
	value, err := json.Marshal(d)
	if err != nil {
		return Message{}, err
	}
	return Message{
		Key:     []byte(d.Operation + ":" + d.SkillID),
		Value:   value,
		Headers: []Header{{Key: "reason", Value: []byte(d.Reason)}, {Key: "content-type", Value: []byte("application/json")}},
	}, nil
}
