package kafkastore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/skill6pub/skill6pub/state"
)

const (
	// fetchWait is how long a fetch waits at the broker for new records;
	// the broker answers as soon as one arrives, so it costs no latency.
	fetchWait = 500 * time.Millisecond
	// fetchBytes is the most one fetch returns: several chunks at a time
	// when catching up.
	fetchBytes = 8 << 20
	// batchTimeout: every Save waits for its writes, so a batch has nothing
	// to wait for (RELIABILITY.md: the 1 s default would add a second).
	batchTimeout = time.Millisecond
	// retryFirst and retryMax bound the pause between failed fetches.
	retryFirst = 100 * time.Millisecond
	retryMax   = 5 * time.Second
)

// Store keeps states in the state topic. Load and Save are safe for
// concurrent use; Saves of one key through one Store are made one at a
// time, Saves of different keys do not wait for each other.
type Store struct {
	cfg    Config
	log    zerolog.Logger
	client *kafka.Client
	writer *kafka.Writer
	enc    state.Encoder

	mu   sync.Mutex
	view view
	// known is, per key, the save this Store last returned from Load or
	// wrote with Save: the base of the next Save.
	known map[state.Key]string
	// waiters get the verdict on a manifest this Store wrote, by save id.
	waiters map[string]chan verdict
	// readErr is the reading loop's last error, nil once it reads again.
	readErr error
	// advanced is closed, and replaced, whenever the view reads further.
	advanced chan struct{}
	closed   bool

	// saving is read-held by each Save, so that Close waits for them.
	saving sync.RWMutex
	// keyLocks make the Saves of one key one at a time, each one's base
	// the last one's save; guarded by mu.
	keyLocks map[state.Key]*sync.Mutex
	stop     context.CancelFunc
	done     chan struct{} // closed when the reading loop has returned
}

// verdict is what the view made of a manifest this Store wrote.
type verdict struct {
	lost    bool
	current *save  // the stream's current save once the manifest was read
	data    []byte // current's state file, read when lost; nil if unreadable
	dataErr error
}

// Open checks (or, with CreateTopic, creates) the state topic, reads it to
// its end and keeps reading it until Close. ctx bounds the opening only.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	log := zerolog.Nop()
	if cfg.Logger != nil {
		log = *cfg.Logger
	}
	transport := &kafka.Transport{
		ClientID: cfg.ClientID, TLS: cfg.TLS, SASL: cfg.SASL,
		// Only the state topic: not the metadata of a whole cluster.
		MetadataTopics: []string{cfg.Topic},
	}
	client := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: transport, Timeout: cfg.RequestTimeout}
	if err := prepareTopic(ctx, client, cfg); err != nil {
		transport.CloseIdleConnections()
		return nil, err
	}
	first, end, err := offsets(ctx, client, cfg.Topic)
	if err != nil {
		transport.CloseIdleConnections()
		return nil, &TopicError{Topic: cfg.Topic, Problem: "could not be read", Fix: "Check that this client may read it", Err: err}
	}
	s := &Store{
		cfg: cfg, log: log, client: client,
		writer: &kafka.Writer{
			Addr:  kafka.TCP(cfg.Brokers...),
			Topic: cfg.Topic,
			// As the producer's writer (RELIABILITY.md): acknowledged by
			// every in-sync replica, synchronous, kafka-go's retries.
			RequiredAcks: kafka.RequireAll,
			Async:        false,
			BatchTimeout: batchTimeout,
			// A chunk, with room for its record's overhead: a batch holds
			// at most one chunk. BatchSize stays at kafka-go's 100 (it
			// allocates room for that many messages in every batch); a
			// partition's batches are written one after the other, so
			// tombstones keep their order across batches.
			BatchBytes:   int64(cfg.ChunkBytes) + 64<<10,
			ReadTimeout:  cfg.RequestTimeout,
			WriteTimeout: cfg.RequestTimeout,
			Transport:    transport,
			ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
				log.Debug().Str("component", "kafka-go").Str("topic", cfg.Topic).Msgf(msg, args...)
			}),
		},
		view:     newView(cfg.Topic, first),
		known:    map[state.Key]string{},
		keyLocks: map[state.Key]*sync.Mutex{},
		waiters:  map[string]chan verdict{},
		advanced: make(chan struct{}),
		done:     make(chan struct{}),
	}
	for s.view.next < end {
		if err := s.fetch(ctx); err != nil {
			transport.CloseIdleConnections()
			return nil, &TopicError{Topic: cfg.Topic, Problem: fmt.Sprintf("could not be read to its end (offset %d of %d)", s.view.next, end),
				Fix: "Check that the brokers are up and that this client may read it", Err: err}
		}
	}
	loopCtx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go s.keepReading(loopCtx)
	return s, nil
}

// offsets returns the first offset of the state topic's partition and its
// high watermark.
func offsets(ctx context.Context, client *kafka.Client, topic string) (first, end int64, err error) {
	resp, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		topic: {kafka.FirstOffsetOf(0), kafka.LastOffsetOf(0)},
	}})
	if err != nil {
		return 0, 0, err
	}
	for _, p := range resp.Topics[topic] {
		if p.Partition == 0 {
			return p.FirstOffset, p.LastOffset, p.Error
		}
	}
	return 0, 0, fmt.Errorf("no offsets for partition 0")
}

// fetch reads the next records, up to fetchBytes, into the view.
func (s *Store) fetch(ctx context.Context) error {
	s.mu.Lock()
	next := s.view.next
	s.mu.Unlock()
	// A broker that stops answering on an open connection would hold the
	// fetch forever.
	ctx, cancel := context.WithTimeout(ctx, fetchWait+s.cfg.RequestTimeout)
	defer cancel()
	resp, err := s.client.Fetch(ctx, &kafka.FetchRequest{
		Topic: s.cfg.Topic, Partition: 0, Offset: next, MinBytes: 1, MaxBytes: fetchBytes, MaxWait: fetchWait,
	})
	if err == nil {
		err = resp.Error
	}
	if errors.Is(err, kafka.OffsetOutOfRange) {
		// Only the first offset can move past us (retention set on the
		// topic by hand, or records deleted): start again from it.
		first, _, ferr := offsets(ctx, s.client, s.cfg.Topic)
		if ferr != nil {
			return ferr
		}
		s.log.Warn().Str("topic", s.cfg.Topic).Int64("from", next).Int64("to", first).
			Msg("records of the state topic were deleted before this process read them; reading on from its first offset")
		s.mu.Lock()
		s.view.next = max(s.view.next, first)
		s.mu.Unlock()
		return nil
	}
	if err != nil {
		return err
	}
	defer s.signalAdvance(next)
	for {
		r, err := resp.Records.ReadRecord()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if r.Offset < next {
			continue // a batch starts before the offset asked for
		}
		key, value, err := recordBytes(r)
		if err != nil {
			return err
		}
		s.apply(r.Offset, key, value)
	}
}

// signalAdvance wakes CatchUp if the view has read past from.
func (s *Store) signalAdvance(from int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.view.next > from {
		close(s.advanced)
		s.advanced = make(chan struct{})
	}
}

// CatchUp returns once the Store has read every record that the state topic
// held when it was called, so that a Load after it sees every save made
// before it by any process (Load on its own answers from what has been read
// so far: a save of another process shows up a few milliseconds after it).
func (s *Store) CatchUp(ctx context.Context) error {
	_, end, err := offsets(ctx, s.client, s.cfg.Topic)
	if err != nil {
		return fmt.Errorf("kafkastore: catch up with topic %q: %w", s.cfg.Topic, err)
	}
	for {
		s.mu.Lock()
		next, advanced, closed := s.view.next, s.advanced, s.closed
		s.mu.Unlock()
		switch {
		case closed:
			return ErrClosed
		case next >= end:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafkastore: catch up with topic %q: read to offset %d of %d: %w", s.cfg.Topic, next, end, ctx.Err())
		case <-s.done:
			return ErrClosed
		case <-advanced:
		}
	}
}

// apply takes one record into the view and answers a waiting Save.
func (s *Store) apply(offset int64, key string, value []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	added := s.view.apply(offset, key, value)
	if added == nil {
		return
	}
	wait, ok := s.waiters[added.Save]
	if !ok {
		return
	}
	delete(s.waiters, added.Save)
	v := verdict{lost: added.lost, current: s.view.streams[added.stream].current}
	if v.lost && v.current != nil {
		// Copied now: the winner's next save may tombstone these chunks.
		v.data, v.dataErr = s.view.stateBytes(v.current)
	}
	wait <- v // buffered
}

// keepReading reads the topic until ctx ends, pausing after errors.
func (s *Store) keepReading(ctx context.Context) {
	defer close(s.done)
	pause := retryFirst
	for ctx.Err() == nil {
		err := s.fetch(ctx)
		s.mu.Lock()
		s.readErr = err
		s.mu.Unlock()
		if err == nil {
			pause = retryFirst
			continue
		}
		if ctx.Err() != nil {
			return
		}
		s.log.Warn().Err(err).Str("topic", s.cfg.Topic).Dur("retry_in", pause).Msg("reading the state topic failed")
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, retryMax)
	}
}

// Load returns key's current state; found is false, with a nil error, when
// the topic holds none. The next Save of key replaces the state returned
// here.
func (s *Store) Load(key state.Key) (state.State, bool, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return state.State{}, false, ErrClosed
	}
	st := s.view.streams[streamKey(key)]
	if st != nil && st.unreadable != nil {
		err := *st.unreadable
		err.Key = key
		s.mu.Unlock()
		return state.State{}, false, &err
	}
	if st == nil || st.current == nil {
		s.known[key] = ""
		s.mu.Unlock()
		return state.State{}, false, nil
	}
	cur := st.current
	data, err := s.view.stateBytes(cur)
	if err == nil {
		s.known[key] = cur.Save
	}
	s.mu.Unlock()
	if err != nil {
		return state.State{}, false, err
	}
	got, err := s.decode(cur, data)
	if err != nil {
		return state.State{}, false, err
	}
	return got, true, nil
}

// decode turns the state file of save into a state, with errors that name
// the topic rather than a file.
func (s *Store) decode(sv *save, data []byte) (state.State, error) {
	corrupt := func(reason string, err error) error {
		return &CorruptError{Topic: s.cfg.Topic, Key: sv.stateKey(), Save: sv.Save, Offset: sv.offset, Reason: reason, Err: err}
	}
	got, err := state.Decode(s.cfg.Topic, data)
	var bad *state.CorruptError
	var version *state.VersionError
	switch {
	case errors.As(err, &bad):
		return state.State{}, corrupt(bad.Reason, bad.Err)
	case errors.As(err, &version):
		return state.State{}, corrupt(fmt.Sprintf("it has state format version %d and this build reads only version %d (written by a newer skill6pub?)",
			version.Version, state.FormatVersion), nil)
	case err != nil:
		return state.State{}, corrupt("it does not decode", err)
	}
	if got.Key != sv.stateKey() {
		return state.State{}, corrupt(fmt.Sprintf("it holds the state of operation %q, skill %q",
			got.Key.Operation, got.Key.SkillID), nil)
	}
	return got, nil
}

// Save makes st the current state of st.Key if the save this Store last
// returned from Load or wrote with Save is still the current one when st
// reaches the topic; otherwise it returns a *ConflictError with the state
// that came first. It returns once its record has been read back.
func (s *Store) Save(st state.State) error {
	s.saving.RLock()
	defer s.saving.RUnlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	keyLock := s.keyLocks[st.Key]
	if keyLock == nil {
		keyLock = &sync.Mutex{}
		s.keyLocks[st.Key] = keyLock
	}
	s.mu.Unlock()
	keyLock.Lock()
	defer keyLock.Unlock()
	s.mu.Lock()
	base := s.known[st.Key]
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.SaveTimeout)
	defer cancel()
	var file bytes.Buffer
	if err := s.enc.Encode(&file, st); err != nil {
		return fmt.Errorf("kafkastore: save %s: %w", streamKey(st.Key), err)
	}
	stream, id := streamKey(st.Key), randomHex(8)
	chunks := cut(file.Bytes(), s.cfg.ChunkBytes)
	msgs := make([]kafka.Message, len(chunks))
	for i, c := range chunks {
		msgs[i] = kafka.Message{Key: []byte(chunkKey(stream, id, i)), Value: c}
	}
	if err := s.writer.WriteMessages(ctx, msgs...); err != nil {
		s.removeAbandoned(stream, id, len(chunks))
		return s.writeError("its chunks", st.Key, err)
	}
	m := manifest{
		Format: manifestFormat, Version: manifestVersion,
		Key:  manifestStream{Operation: st.Key.Operation, SkillID: st.Key.SkillID},
		Save: id, Base: base, Instance: s.cfg.Instance, Chunks: len(chunks), Bytes: file.Len(),
		SavedAt: time.Now().UTC(),
	}
	if w := pendingWindow(st.Pending); w != nil {
		m.Pending = &manifestWindow{Start: w.Start, End: w.End, Revision: w.Revision}
	}
	value, err := json.Marshal(m)
	if err != nil {
		return err
	}
	wait := make(chan verdict, 1)
	s.mu.Lock()
	s.waiters[id] = wait
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiters, id)
		s.mu.Unlock()
	}()
	// Written only once every chunk is acknowledged: a reader that has the
	// manifest has every chunk it names.
	if err := s.writer.WriteMessages(ctx, kafka.Message{Key: []byte(manifestKey(stream, id)), Value: value}); err != nil {
		// The manifest may still land (RELIABILITY.md 7): its chunks stay,
		// and it is judged like any other when it is read.
		return s.writeError("its manifest", st.Key, err)
	}
	var v verdict
	select {
	case v = <-wait:
	case <-ctx.Done():
		s.mu.Lock()
		readErr := s.readErr
		s.mu.Unlock()
		return fmt.Errorf("kafkastore: save of operation %q, skill %q: written to topic %q but not read back within %s (last read error: %v): "+
			"its outcome is unknown; load the state again before going on", st.Key.Operation, st.Key.SkillID, s.cfg.Topic, s.cfg.SaveTimeout, readErr)
	}
	if v.lost {
		s.removeAbandoned(stream, id, len(chunks))
		return s.conflict(st, v)
	}
	s.mu.Lock()
	s.known[st.Key] = id
	var obsolete []string
	for _, o := range s.view.replaced(v.current) {
		obsolete = append(obsolete, tombstoneKeys(o.stream, o.Save, o.Chunks)...)
	}
	s.mu.Unlock()
	if len(obsolete) > 0 {
		if err := s.tombstone(ctx, obsolete); err != nil {
			// The save is made; what it replaced stays until the next one.
			s.log.Warn().Err(err).Str("topic", s.cfg.Topic).Int("records", len(obsolete)).
				Msg("could not remove the states a save replaced; the next save tries again")
		}
	}
	return nil
}

// conflict builds the *ConflictError of a lost save of st.
func (s *Store) conflict(st state.State, v verdict) error {
	e := &ConflictError{Topic: s.cfg.Topic, Key: st.Key, Rejected: pendingWindow(st.Pending)}
	if v.current == nil {
		return e // the key's state was removed by hand
	}
	e.Instance = v.current.Instance
	if v.dataErr != nil {
		return v.dataErr
	}
	cur, err := s.decode(v.current, v.data)
	if err != nil {
		return err
	}
	e.Current = cur
	return e
}

// removeAbandoned tombstones the records of a save that will never be
// current (it lost, or its manifest was never written). Best effort: what
// stays, the next current save of the key removes if it saw a manifest.
func (s *Store) removeAbandoned(stream, id string, chunks int) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.SaveTimeout)
	defer cancel()
	if err := s.tombstone(ctx, tombstoneKeys(stream, id, chunks)); err != nil {
		s.log.Warn().Err(err).Str("topic", s.cfg.Topic).Str("save", id).Msg("could not remove the records of a save that was not kept")
	}
}

// tombstone writes a tombstone for each key, in order, in one batch.
func (s *Store) tombstone(ctx context.Context, keys []string) error {
	msgs := make([]kafka.Message, len(keys))
	for i, k := range keys {
		msgs[i] = kafka.Message{Key: []byte(k)}
	}
	return s.writer.WriteMessages(ctx, msgs...)
}

func (s *Store) writeError(what string, key state.Key, err error) error {
	// kafka.WriteErrors has no Unwrap (RELIABILITY.md): the messages of a
	// Save go to one partition and fail alike, so the first error is the
	// cause, and callers can test it with errors.Is.
	var each kafka.WriteErrors
	if errors.As(err, &each) {
		for _, e := range each {
			if e != nil {
				err = e
				break
			}
		}
	}
	return fmt.Errorf("kafkastore: save of operation %q, skill %q: writing %s to topic %q failed; the previous state stays current: %w",
		key.Operation, key.SkillID, what, s.cfg.Topic, err)
}

// cut splits b into pieces of at most n bytes; an empty b is one empty
// piece, so that every save has a chunk.
func cut(b []byte, n int) [][]byte {
	pieces := [][]byte{b[:min(n, len(b))]}
	for b = b[len(pieces[0]):]; len(b) > 0; b = b[min(n, len(b)):] {
		pieces = append(pieces, b[:min(n, len(b))])
	}
	return pieces
}

// Close stops reading the topic and closes the writer, after any Save in
// progress. Load and Save then return ErrClosed. Closing twice is harmless.
func (s *Store) Close() error {
	s.saving.Lock()
	defer s.saving.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.stop()
	<-s.done
	err := s.writer.Close()
	if t, ok := s.client.Transport.(*kafka.Transport); ok {
		t.CloseIdleConnections()
	}
	return err
}
