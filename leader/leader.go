// Package leader elects one active replica among the replicas of one
// operation through Kafka's group coordinator, with kafka-go's consumer
// groups: every replica joins the group "skill6pub-<operation>" on a topic
// of one partition (the state topic), and the member that the group assigns
// that partition is the active one. The others stand by, and the
// coordinator hands the partition to one of them when the active member
// leaves (a clean shutdown: within a heartbeat interval, about a second) or
// stops heartbeating (a crash, a frozen process, a network split: within
// the session timeout).
//
// kafka-go runs the eager protocol: when a generation ends, every member
// stops its work before it joins the next one, and the next generation is
// formed only once every live member has joined, so two members of one
// group are never active at once as long as the work stops when its context
// ends (within RebalanceTimeout). A member cut off from the coordinator
// stops its work on its own before the coordinator gives up on it: its
// heartbeat fails after a third of the session timeout, well within the
// session timeout after which another member is made active. A process
// frozen as a whole (SIGSTOP, a long pause) cannot do even that; the state
// store's conditional saves (state/kafkastore) keep it from publishing
// other content under ids already used when it wakes up.
//
// A member that joins does not take the activity over: the group's
// assignment keeps it with the member that was active in the latest
// generation (stickyBalancer), so that a rolling restart or a scale-up
// changes the active replica once at most, and a member that comes back
// from a freeze stays a standby.
//
// The topic must exist before Run (open the state store first: it creates
// or checks it); a group on a missing topic assigns no partition, and every
// member would stand by.
//
// # Settings
//
// Its variables (package config reads them), with their defaults (the Kafka
// connection, TLS and SASL are the producer's):
//
//	LEADER_SESSION_TIMEOUT     10s  a member that has not heartbeated for this long is replaced
//	                                (the broker must allow it: group.min.session.timeout.ms, 6 s by default)
//	LEADER_HEARTBEAT_INTERVAL  1s   how often a member heartbeats, and so how soon a standby
//	                                notices that the active member left
//	LEADER_REBALANCE_TIMEOUT   30s  how long the group waits for the active member's work to stop
package leader

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
)

// Config says which group to join and how.
type Config struct {
	SessionTimeout    time.Duration `envconfig:"LEADER_SESSION_TIMEOUT" default:"10s" desc:"a replica that has not heartbeated for this long is replaced by a standby"`
	HeartbeatInterval time.Duration `envconfig:"LEADER_HEARTBEAT_INTERVAL" default:"1s" desc:"how often replicas heartbeat; a standby takes over within about this long after the active replica stops cleanly"`
	RebalanceTimeout  time.Duration `envconfig:"LEADER_REBALANCE_TIMEOUT" default:"30s" desc:"how long a change of active replica waits for the active one to finish its window"`

	// Brokers is KAFKA_BROKERS.
	Brokers []string `ignored:"true"`
	// Topic is the topic of one partition whose holder is the active
	// member: the state topic.
	Topic string `ignored:"true"`
	// Group is the consumer group: "skill6pub-" + the operation.
	Group string `ignored:"true"`
	// Dialer carries the client id, TLS and SASL (the producer's); nil:
	// kafka-go's default dialer.
	Dialer *kafka.Dialer `ignored:"true"`
	// Observe is called with true when this member becomes active and with
	// false when it stands down: set skill6pub_active, and count a takeover
	// on each true. Default: none.
	Observe func(active bool) `ignored:"true"`
	// Logger says when this member becomes active or stands down, and why.
	// Default: none.
	Logger *zerolog.Logger `ignored:"true"`
}

// Defaults, as in the envconfig tags, for a Config built in code.
const (
	DefaultSessionTimeout    = 10 * time.Second
	DefaultHeartbeatInterval = time.Second
	DefaultRebalanceTimeout  = 30 * time.Second
)

// ConfigError names a setting that cannot work.
type ConfigError struct {
	Variable string
	Problem  string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("leader: %s %s", e.Variable, e.Problem) }

// Elector runs work while this member is the active one.
type Elector struct {
	cfg Config
	log zerolog.Logger
}

// New checks cfg and fills in its defaults. It opens no connection.
func New(cfg Config) (*Elector, error) {
	if cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.RebalanceTimeout == 0 {
		cfg.RebalanceTimeout = DefaultRebalanceTimeout
	}
	switch {
	case len(cfg.Brokers) == 0:
		return nil, &ConfigError{"KAFKA_BROKERS", "is empty: give at least one host:port"}
	case cfg.Topic == "":
		return nil, &ConfigError{"KAFKA_STATE_TOPIC", "is empty: the group needs a topic of one partition"}
	case cfg.Group == "":
		return nil, &ConfigError{"WOLKVOX_SERVER", "is empty: the group is named after the operation"}
	case cfg.SessionTimeout < 0 || cfg.HeartbeatInterval < 0 || cfg.RebalanceTimeout < 0:
		return nil, &ConfigError{"LEADER_SESSION_TIMEOUT", "LEADER_HEARTBEAT_INTERVAL and LEADER_REBALANCE_TIMEOUT must be positive"}
	case 3*cfg.HeartbeatInterval > cfg.SessionTimeout:
		return nil, &ConfigError{"LEADER_HEARTBEAT_INTERVAL", fmt.Sprintf("(%s) must be at most a third of LEADER_SESSION_TIMEOUT (%s), so that one lost heartbeat does not cost the session",
			cfg.HeartbeatInterval, cfg.SessionTimeout)}
	}
	log := zerolog.Nop()
	if cfg.Logger != nil {
		log = *cfg.Logger
	}
	return &Elector{cfg: cfg, log: log.With().Str("group", cfg.Group).Logger()}, nil
}

// errWorkEnded ends Run when work returned on its own.
var errWorkEnded = errors.New("the active work ended")

// Run joins the group and calls work each time this member becomes active,
// with a context that ends when it must stand down: the group's generation
// ended (a member joined or left, or this member lost its session) or ctx
// ended. work must then return promptly. Run returns nil once ctx ends,
// after leaving the group so that a standby takes over at once. If work
// returns while its context is still live, Run leaves the group and returns
// what work returned: the process is not fit to publish, and a standby
// takes over.
func (e *Elector) Run(ctx context.Context, work func(ctx context.Context) error) error {
	var activeIn atomic.Int64
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                e.cfg.Group,
		GroupBalancers:    []kafka.GroupBalancer{stickyBalancer{activeIn: &activeIn}},
		Brokers:           e.cfg.Brokers,
		Dialer:            e.cfg.Dialer,
		Topics:            []string{e.cfg.Topic},
		HeartbeatInterval: e.cfg.HeartbeatInterval,
		SessionTimeout:    e.cfg.SessionTimeout,
		RebalanceTimeout:  e.cfg.RebalanceTimeout,
		// A member that cannot reach the coordinator gives up its
		// generation, and stops its work, after a heartbeat interval and
		// a third of the session timeout: before the coordinator makes
		// another member active at the session timeout.
		Timeout:          e.cfg.SessionTimeout / 3,
		JoinGroupBackoff: e.cfg.HeartbeatInterval,
		Logger: kafka.LoggerFunc(func(msg string, args ...any) {
			e.log.Debug().Str("component", "kafka-go").Msgf(msg, args...)
		}),
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			e.log.Debug().Str("component", "kafka-go").Msgf(msg, args...)
		}),
	})
	if err != nil {
		return fmt.Errorf("leader: group %s: %w", e.cfg.Group, err)
	}
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	workErr := make(chan error, 1)
	for {
		gen, err := group.Next(runCtx)
		if runCtx.Err() != nil {
			break
		}
		if err != nil {
			// kafka-go has left the group and waits JoinGroupBackoff
			// before it joins again.
			e.log.Warn().Err(err).Strs("brokers", e.cfg.Brokers).Msg("could not join the group of replicas; standing by and trying again")
			continue
		}
		if !holds(gen, e.cfg.Topic) {
			e.log.Info().Int32("generation", gen.ID).Msg("standing by: another replica is active")
			continue
		}
		activeIn.Store(int64(gen.ID) + 1)
		gen.Start(func(genCtx context.Context) {
			// work ends with the generation only. Were it to end with ctx
			// as well, it would return before Close below, and kafka-go,
			// seeing the generation end, would join the group once more
			// before leaving it: a second rebalance, and the standby would
			// wait a second heartbeat before taking over.
			workCtx, cancel := context.WithCancel(context.WithoutCancel(runCtx))
			defer cancel()
			defer context.AfterFunc(genCtx, cancel)()
			e.log.Info().Int32("generation", gen.ID).Msg("this replica is now the active one")
			e.observe(true)
			err := work(workCtx)
			e.observe(false)
			switch {
			case runCtx.Err() != nil:
				e.log.Info().Msg("standing down: shutting down")
			case genCtx.Err() != nil:
				e.log.Warn().Int32("generation", gen.ID).
					Msg("standing down: the group changed (a replica joined or left) or this replica lost its session with the coordinator")
			default:
				workErr <- err
				e.log.Error().Err(err).Msg("standing down: the active work stopped")
				stop(errWorkEnded)
			}
		})
	}
	// Close waits for work to return, then leaves the group.
	if err := group.Close(); err != nil {
		e.log.Warn().Err(err).Msg("leaving the group")
	}
	if errors.Is(context.Cause(runCtx), errWorkEnded) {
		return <-workErr
	}
	return nil
}

func (e *Elector) observe(active bool) {
	if e.cfg.Observe != nil {
		e.cfg.Observe(active)
	}
}

// holds reports whether gen assigns this member the topic's partition.
func holds(gen *kafka.Generation, topic string) bool {
	for _, a := range gen.Assignments[topic] {
		if a.ID == 0 {
			return true
		}
	}
	return false
}
