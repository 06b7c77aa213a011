package main

import (
	"context"
	"time"

	"github.com/skill6pub/skill6pub/config"
	"github.com/skill6pub/skill6pub/leader"
)

// catchUpRetry is the pause between attempts to read the state topic to
// its end when this replica has just become the active one.
const catchUpRetry = time.Second

// publish runs the scheduler while this process is the one that publishes.
// With the state topic, the replicas of the operation elect one through
// Kafka's group coordinator (package leader): this one runs the scheduler
// only while it is elected, and stands by otherwise, its ops server up.
// With the directory store, which one process owns, it always publishes.
func (s *service) publish(ctx context.Context) error {
	elector, err := s.elector()
	if err != nil {
		return err
	}
	if elector == nil {
		s.metrics.Active.Set(1)
		defer s.metrics.Active.Set(0)
		return s.scheduler.Run(ctx)
	}
	s.health.Standby()
	s.log.Info().Str("group", s.cfg.LeaderGroup()).Str("state_topic", s.cfg.StateTopic()).
		Msg("joining the group of replicas: this replica publishes once it is elected, and stands by meanwhile")
	return elector.Run(ctx, func(ctx context.Context) error {
		// Another replica's last saves may not be read yet: the state
		// loaded below must be the latest.
		for {
			err := s.pipeline.CatchUp(ctx)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn().Err(err).Dur("retry_in", catchUpRetry).Msg("could not read the state topic to its end before publishing; trying again")
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(catchUpRetry):
			}
		}
		return s.scheduler.Run(ctx)
	})
}

// elector returns the election of the active replica of `run` with the
// state topic: the group "skill6pub-" + the operation on the state topic,
// connected as the producer is. nil with the directory store.
func (s *service) elector() (*leader.Elector, error) {
	if s.cfg.Service.StateStore == config.StateStoreDir {
		return nil, nil
	}
	conn := s.pipeline.Producer.Connection()
	cfg := s.cfg.Leader
	cfg.Brokers, cfg.Topic, cfg.Group, cfg.Dialer = conn.Brokers, s.cfg.StateTopic(), s.cfg.LeaderGroup(), conn.Dialer()
	log := s.log.With().Str("component", "leader").Logger()
	cfg.Logger = &log
	cfg.Observe = func(active bool) {
		if active {
			s.metrics.Active.Set(1)
			s.metrics.Takeovers.Inc()
			s.health.Active()
			return
		}
		s.metrics.Active.Set(0)
		s.health.Standby()
	}
	return leader.New(cfg)
}
