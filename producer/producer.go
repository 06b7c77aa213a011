package producer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/metrics"
	"github.com/skill6pub/skill6pub/schema"
)

// batchTimeout is how long kafka-go waits for a partition's batch to fill.
// Its 1 s default would add a second to every synchronous publish of a small
// window (kafka-go issues #1180, #326); a window's events all arrive in one
// call, added to each partition's batch under one lock, so a short wait
// loses no batching. Publish waits it twice per window (the events, then
// the window_closed): at 10 ms that was a large share of a small window's
// time from its due time to Kafka's acknowledgement (BENCHMARKS.md, end to
// end).
const batchTimeout = time.Millisecond

// Producer publishes windows of events to Kafka through one kafka-go Writer.
// It is safe for concurrent use.
type Producer struct {
	cfg       Config
	settings  settings
	transport *kafka.Transport
	writer    *kafka.Writer
	admin     *kafka.Client
	log       zerolog.Logger
	metrics   *metrics.Metrics
	clock     clock.Clock
	// chunkEvents is how many events Publish encodes and sends at a time
	// (defaultChunkEvents; smaller in tests).
	chunkEvents int
	// publishing is held for reading by each Publish and for writing by
	// Close, so that Close lets the publishes in progress finish (their
	// watermarks included) before it closes the writer.
	publishing sync.RWMutex
}

// Option changes how New builds a Producer.
type Option func(*Producer)

// WithLogger sets the logger (default: none).
func WithLogger(log zerolog.Logger) Option { return func(p *Producer) { p.log = log } }

// WithMetrics sets the collectors Publish updates (default: none).
func WithMetrics(m *metrics.Metrics) Option { return func(p *Producer) { p.metrics = m } }

// WithClock sets the clock the service's own retries wait on (default:
// clock.Real). kafka-go's internal backoffs always use the wall clock.
func WithClock(c clock.Clock) Option { return func(p *Producer) { p.clock = c } }

// New checks cfg and builds the producer. It opens no connection: Bootstrap
// and Ready are the first to talk to the brokers.
func New(cfg Config, opts ...Option) (*Producer, error) {
	s, err := cfg.check()
	if err != nil {
		return nil, err
	}
	p := &Producer{cfg: cfg, settings: s, log: zerolog.Nop(), clock: clock.Real{}, chunkEvents: defaultChunkEvents}
	for _, o := range opts {
		o(p)
	}
	p.transport = newTransport(cfg, s, s.sasl)
	p.writer = newWriter(cfg, s, p.transport, kafka.LoggerFunc(func(msg string, args ...any) {
		// Every attempt kafka-go retries lands here; the outcome that
		// matters is what Publish returns.
		p.log.Debug().Str("component", "kafka-go").Msgf(msg, args...)
	}))
	p.admin = &kafka.Client{Addr: p.writer.Addr, Transport: p.transport, Timeout: cfg.RequestTimeout}
	return p, nil
}

// newWriter configures kafka-go's Writer as RELIABILITY.md says.
func newWriter(cfg Config, s settings, transport *kafka.Transport, logError kafka.Logger) *kafka.Writer {
	return &kafka.Writer{
		Addr: kafka.TCP(s.brokers...),
		// kafka.Writer{} defaults to RequireNone, which reports success
		// for records that were never stored.
		RequiredAcks: kafka.RequireAll,
		Async:        false,
		// The Java client's default partitioner: Kafka Streams and Flink
		// jobs keyed like our topic co-partition with it.
		Balancer:     &kafka.Murmur2Balancer{},
		BatchTimeout: batchTimeout,
		BatchBytes:   cfg.BatchBytes,
		BatchSize:    batchRecords,
		Compression:  s.compression,
		// MaxAttempts and the backoffs keep kafka-go's defaults (10
		// attempts over about 7 s): shorter ones give up before a leader
		// move reaches the metadata cache (Transport.MetadataTTL, 6 s).
		ReadTimeout:  cfg.RequestTimeout,
		WriteTimeout: cfg.RequestTimeout,
		Transport:    transport,
		ErrorLogger:  logError,
	}
}

// batchRecords is the most records in one partition's batch. kafka-go's
// default of 100 cuts a large window into ten times as many requests
// (BENCHMARKS.md); with events of the usual size the default BatchBytes
// closes a batch first. kafka-go allocates room for BatchSize records in
// every batch, so it is not simply unbounded.
const batchRecords = 1000

func newTransport(cfg Config, s settings, mechanism sasl.Mechanism) *kafka.Transport {
	return &kafka.Transport{
		ClientID: cfg.ClientID,
		TLS:      s.tls,
		SASL:     mechanism,
		// Only our topics: the metadata of a large cluster is not fetched
		// every few seconds.
		MetadataTopics: s.topics(cfg),
	}
}

// Topics returns the topic of the events and the dead-letter topic.
func (p *Producer) Topics() (events, deadLetters string) { return p.cfg.Topic, p.settings.dlqTopic }

// TopicNames checks cfg and returns the names of the topics the producer
// writes, as KAFKA_TOPIC, KAFKA_DLQ_TOPIC and KAFKA_TABLE_TOPIC resolve.
// The State topic is left empty: the producer does not write it.
func TopicNames(cfg Config) (schema.Topics, error) {
	s, err := cfg.check()
	if err != nil {
		return schema.Topics{}, err
	}
	return schema.Topics{Events: cfg.Topic, DeadLetters: s.dlqTopic, Table: s.tableTopic}, nil
}

// TableTopic returns the compacted table topic that PublishTable writes.
func (p *Producer) TableTopic() string { return p.settings.tableTopic }

// topics are every topic the producer writes: events, dead letters, table.
func (s settings) topics(cfg Config) []string { return []string{cfg.Topic, s.dlqTopic, s.tableTopic} }

// Bootstrap prepares the topics at start. With KAFKA_CREATE_TOPICS it
// creates the three (an existing topic is left as it is; the table topic
// is compacted); otherwise it checks that they exist and says how to fix it
// when one does not.
func (p *Producer) Bootstrap(ctx context.Context) error {
	if p.cfg.CreateTopics {
		if err := p.createTopics(ctx); err != nil {
			return err
		}
	}
	return p.checkTopics(ctx)
}

func (p *Producer) createTopics(ctx context.Context) error {
	req := &kafka.CreateTopicsRequest{}
	for _, topic := range p.settings.topics(p.cfg) {
		configs := p.settings.topicConfigs
		if topic == p.settings.tableTopic {
			configs = compacted(configs)
		}
		req.Topics = append(req.Topics, kafka.TopicConfig{
			Topic:             topic,
			NumPartitions:     p.cfg.TopicPartitions,
			ReplicationFactor: p.cfg.TopicReplication,
			ConfigEntries:     configs,
		})
	}
	resp, err := p.admin.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("create topics: %w", p.explain(ctx, p.cfg.Topic, err))
	}
	// CreateTopics returns a nil error even when a topic failed: the
	// outcome of each topic is in resp.Errors.
	var errs []error
	for _, t := range req.Topics {
		switch err := resp.Errors[t.Topic]; {
		case err == nil:
			p.log.Info().Str("topic", t.Topic).Int("partitions", t.NumPartitions).
				Int("replication_factor", t.ReplicationFactor).Msg("created topic")
		case errors.Is(err, kafka.TopicAlreadyExists):
			p.log.Info().Str("topic", t.Topic).Msg("topic exists")
		default:
			errs = append(errs, fmt.Errorf("create topic %q (partitions %d, replication factor %d): %w",
				t.Topic, t.NumPartitions, t.ReplicationFactor, p.explain(ctx, t.Topic, err)))
		}
	}
	return errors.Join(errs...)
}

// compacted returns configs with cleanup.policy=compact in place of any
// cleanup.policy of KAFKA_TOPIC_CONFIGS: a table topic that deleted by age
// would lose the DNIS that stay unchanged for long, and one that kept
// everything would grow with every window.
func compacted(configs []kafka.ConfigEntry) []kafka.ConfigEntry {
	out := []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact"}}
	for _, c := range configs {
		if c.ConfigName != "cleanup.policy" {
			out = append(out, c)
		}
	}
	return out
}

// checkTopics fails unless the brokers know every topic.
func (p *Producer) checkTopics(ctx context.Context) error {
	meta, err := p.admin.Metadata(ctx, &kafka.MetadataRequest{Topics: p.settings.topics(p.cfg)})
	if err != nil {
		return fmt.Errorf("kafka metadata: %w", p.explain(ctx, p.cfg.Topic, err))
	}
	var errs []error
	for _, t := range meta.Topics {
		if t.Error != nil {
			errs = append(errs, p.explain(ctx, t.Name, t.Error))
		}
	}
	return errors.Join(errs...)
}

// Ready reports whether the brokers answer and know every topic, for the
// ops server's /readyz. The topic check reads kafka-go's metadata cache,
// which is at most Transport.MetadataTTL (6 s) old; the broker round trip is
// live.
func (p *Producer) Ready(ctx context.Context) error {
	_, err := p.admin.ApiVersions(ctx, &kafka.ApiVersionsRequest{})
	if connectionDropped(err) {
		// An idle pooled connection the broker closed says nothing about
		// the broker; ask once more on a new one.
		_, err = p.admin.ApiVersions(ctx, &kafka.ApiVersionsRequest{})
	}
	if err != nil {
		return fmt.Errorf("kafka: %w", p.explain(ctx, p.cfg.Topic, err))
	}
	return p.checkTopics(ctx)
}

// Close flushes the writer and waits for its in-flight batches, within ctx.
// Close first waits for the Publish calls in progress, which end by
// KAFKA_WRITE_TIMEOUT at the latest. kafka-go's Writer.Close takes no context and returns only when every retry
// is over (about 7 s per batch against a dead broker), so it runs in its own
// goroutine: when ctx ends first, Close returns ctx.Err() and that goroutine
// finishes on its own later. Nothing still in flight then counts as
// published, since the Publish that sent it has not returned nil.
func (p *Producer) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.publishing.Lock()
		defer p.publishing.Unlock()
		_ = p.writer.Close() // always nil in kafka-go v0.4.51
		p.transport.CloseIdleConnections()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close kafka writer: %w", ctx.Err())
	}
}
