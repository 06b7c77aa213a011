package producer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// Kinds of failure an operator or a caller acts on differently. Every error
// this package returns wraps at most one of them; test with errors.Is.
var (
	// ErrOutcomeUnknown: the context ended before Kafka answered, so the
	// records may or may not be stored (kafka-go keeps sending in the
	// background). The caller must not checkpoint and must publish the same
	// records again; consumers deduplicate by event id.
	ErrOutcomeUnknown = errors.New("outcome unknown")
	// ErrAuthentication: the brokers rejected the SASL credentials.
	ErrAuthentication = errors.New("SASL authentication failed")
	// ErrTLS: the TLS handshake with a broker failed.
	ErrTLS = errors.New("TLS handshake failed")
	// ErrUnreachable: no connection to the brokers could be opened.
	ErrUnreachable = errors.New("brokers unreachable")
	// ErrTopicMissing: a topic the producer writes to does not exist.
	ErrTopicMissing = errors.New("topic missing")
	// ErrClosed: Publish was called after Close.
	ErrClosed = errors.New("producer closed")
)

// ConfigError says which variable of the configuration is wrong and why.
type ConfigError struct {
	Variable string
	Problem  string
}

func (e *ConfigError) Error() string { return "kafka config: " + e.Variable + " " + e.Problem }

func configErr(variable, problem string) error {
	return &ConfigError{Variable: variable, Problem: problem}
}

// PublishError says which records of one Publish call Kafka did not
// acknowledge and why. Publish returns nil only when every record was
// acknowledged, so any PublishError means: do not checkpoint, re-send.
type PublishError struct {
	Records  int       // records the call had to publish, dead letters included
	Failures []Failure // records not acknowledged, or whose outcome is unknown, in publish order
	Causes   []error   // the distinct reasons, each explained for an operator
}

// Failure is one record that was not acknowledged.
type Failure struct {
	Topic string
	Key   string
	ID    string // the event's ce_id header; empty for a dead letter
	Err   error  // one of PublishError.Causes
}

func (e *PublishError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kafka publish: %d of %d records not acknowledged", len(e.Failures), e.Records)
	for i, c := range e.Causes {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(c.Error())
	}
	return b.String()
}

// Unwrap returns the causes, so that errors.Is(err, ErrOutcomeUnknown) and
// errors.Is(err, kafka.TopicAuthorizationFailed) see through a PublishError.
func (e *PublishError) Unwrap() []error { return e.Causes }

// explain wraps err, an error from kafka-go about topic, with the kind of
// failure and what the operator should check. The SASL password is never
// part of any message: kafka-go's errors do not carry it and the
// configuration keeps it in a secret.String.
func (p *Producer) explain(ctx context.Context, topic string, err error) error {
	switch {
	case errors.Is(err, io.ErrClosedPipe):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	case errors.Is(err, kafka.SASLAuthenticationFailed),
		errors.Is(err, kafka.UnsupportedSASLMechanism),
		errors.Is(err, kafka.IllegalSASLState):
		return p.authError(err)
	case p.settings.sasl != nil && connectionDropped(err) && p.authRejected(ctx):
		// A broker may answer bad credentials by closing the connection,
		// which kafka-go reports as a bare "unexpected EOF".
		return p.authError(err)
	case isTLSFailure(err):
		return fmt.Errorf("%w with %s: check KAFKA_TLS_CA_FILE, KAFKA_TLS_SERVER_NAME and that the listener speaks TLS: %w",
			ErrTLS, strings.Join(p.settings.brokers, ","), err)
	case isUnreachable(err):
		return fmt.Errorf("%w: cannot connect to KAFKA_BROKERS=%s: %w", ErrUnreachable, strings.Join(p.settings.brokers, ","), err)
	case errors.Is(err, kafka.BrokerNotAvailable):
		// kafka-go says this, without an address, when no broker it
		// could reach answered: down, or a listener that speaks another
		// protocol than the one configured.
		return fmt.Errorf("%w: no broker of KAFKA_BROKERS=%s answered: check that they run and that %s: %w",
			ErrUnreachable, strings.Join(p.settings.brokers, ","), p.listenerHint(), err)
	case errors.Is(err, kafka.InvalidReplicationFactor):
		return fmt.Errorf("KAFKA_TOPIC_REPLICATION_FACTOR=%d is more than the cluster's brokers: set it to their number at most (1 for a single broker): %w",
			p.cfg.TopicReplication, err)
	case errors.Is(err, kafka.UnknownTopicOrPartition), errors.Is(err, protocol.ErrNoTopic), errors.Is(err, protocol.ErrNoPartition):
		return p.topicMissing(ctx, topic, err)
	case errors.Is(err, kafka.TopicAuthorizationFailed):
		return fmt.Errorf("not allowed to write to topic %q: grant the Kafka principal WRITE on it: %w", topic, err)
	case connectionDropped(err):
		return fmt.Errorf("connection to the broker lost (when it never works: does the listener need KAFKA_TLS_ENABLED or KAFKA_SASL_MECHANISM?): %w", err)
	}
	return err
}

// listenerHint says which settings must match the brokers' listener.
func (p *Producer) listenerHint() string {
	hint := "the listener speaks "
	if p.settings.tls != nil {
		hint += "TLS (KAFKA_TLS_ENABLED=true)"
	} else {
		hint += "plaintext (KAFKA_TLS_ENABLED=false)"
	}
	if p.settings.sasl != nil {
		return hint + " with SASL " + p.settings.sasl.Name() + " (KAFKA_SASL_MECHANISM)"
	}
	return hint + " without SASL (KAFKA_SASL_MECHANISM empty)"
}

// topicMissing explains a topic found missing. With KAFKA_CREATE_TOPICS it
// creates the topics again, whenever it finds one missing (a broker that
// restarted empty, a topic deleted by hand): the caller's retry then finds
// it.
func (p *Producer) topicMissing(ctx context.Context, topic string, err error) error {
	if !p.cfg.CreateTopics {
		return fmt.Errorf("%w: topic %q does not exist: create it or set KAFKA_CREATE_TOPICS=true: %w", ErrTopicMissing, topic, err)
	}
	p.log.Warn().Str("topic", topic).Msg("topic missing (a broker that restarted empty?): creating the topics again, as KAFKA_CREATE_TOPICS=true")
	if createErr := p.createTopics(ctx); createErr != nil {
		return fmt.Errorf("%w: topic %q does not exist, and creating it again (KAFKA_CREATE_TOPICS=true) failed: %w", ErrTopicMissing, topic, createErr)
	}
	return fmt.Errorf("%w: topic %q did not exist; created it again (KAFKA_CREATE_TOPICS=true), the next try publishes to it: %w", ErrTopicMissing, topic, err)
}

func (p *Producer) authError(err error) error {
	return fmt.Errorf("%w for user %q with %s: check KAFKA_SASL_USERNAME, the password and KAFKA_SASL_MECHANISM: %w",
		ErrAuthentication, p.cfg.SASLUsername, p.settings.sasl.Name(), err)
}

// connectionDropped reports an error that means the peer closed or reset the
// connection.
func connectionDropped(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func isTLSFailure(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		alert    tls.AlertError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &record) || errors.As(err, &alert) ||
		errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

func isUnreachable(err error) bool {
	var dns *net.DNSError
	var op *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.As(err, &dns) ||
		(errors.As(err, &op) && op.Op == "dial")
}

// retriable reports whether the service itself should send again after
// cause, once kafka-go has given up. kafka-go v0.4.51 retries a batch on
// errors that are Temporary() or a transient network error, but not on a
// bare io.EOF (its issue #1352) nor on a partition without a known leader;
// and an error from its metadata cache (wholeCall: nothing was sent) is
// never retried by it at all. An unreachable cluster or rejected
// credentials are not tried again here: the caller hears about them at once.
func retriable(cause error, wholeCall bool) bool {
	if errors.Is(cause, ErrAuthentication) || errors.Is(cause, ErrUnreachable) || errors.Is(cause, ErrClosed) {
		return false
	}
	if connectionDropped(cause) || errors.Is(cause, protocol.ErrNoLeader) {
		return true
	}
	var temporary interface{ Temporary() bool }
	return wholeCall && errors.As(cause, &temporary) && temporary.Temporary()
}
