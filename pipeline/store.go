package pipeline

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/skill6pub/skill6pub/config"
	"github.com/skill6pub/skill6pub/scheduler"
	"github.com/skill6pub/skill6pub/state"
	"github.com/skill6pub/skill6pub/state/kafkastore"
)

// Store is the state store the schedulers share: the state topic
// (*kafkastore.Store, STATE_STORE=kafka) or the state directory
// (*state.Dir, STATE_STORE=dir).
type Store interface {
	scheduler.Store
	Close() error
}

// openStore opens the store STATE_STORE names. With the state topic, a
// state directory left by a version that kept its state there (STATE_DIR,
// when it holds state files) is taken over into the topic first.
func (p *Pipeline) openStore(ctx context.Context) (Store, error) {
	if p.cfg.Service.StateStore == config.StateStoreDir {
		storeOpts := []state.Option{state.WithLogger(p.opts.Logger)}
		if p.opts.BeforeStateRename != nil {
			storeOpts = append(storeOpts, state.WithBeforeRename(p.opts.BeforeStateRename))
		}
		return state.OpenDir(p.cfg.Service.StateDir, storeOpts...)
	}
	store, err := kafkastore.Open(ctx, p.StateStoreConfig())
	if err != nil {
		return nil, err
	}
	if err := p.importDir(store); err != nil {
		return nil, errors.Join(err, store.Close())
	}
	return store, nil
}

// StateStoreConfig returns the state topic's configuration: its own
// settings (KAFKA_STATE_*, INSTANCE_ID) and the producer's connection.
func (p *Pipeline) StateStoreConfig() kafkastore.Config {
	conn := p.Producer.Connection()
	cfg := p.cfg.State
	cfg.Topic = p.cfg.StateTopic()
	cfg.Brokers = conn.Brokers
	cfg.TLS, cfg.SASL, cfg.ClientID = conn.TLS, conn.SASL, conn.ClientID
	cfg.CreateTopic, cfg.ReplicationFactor, cfg.TopicConfigs = conn.CreateTopics, conn.ReplicationFactor, conn.TopicConfigs
	cfg.RequestTimeout, cfg.SaveTimeout = conn.RequestTimeout, conn.WriteTimeout
	log := p.opts.Logger.With().Str("component", "state").Logger()
	cfg.Logger = &log
	return cfg
}

// importDir takes STATE_DIR over into the state topic when it holds state
// files: a key the topic holds no state for gets the directory's, once;
// the topic's own states stay. It says what it did, file by file.
func (p *Pipeline) importDir(store *kafkastore.Store) error {
	dir := p.cfg.Service.StateDir
	if dir == "" {
		return nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.state"))
	if err != nil || len(files) == 0 {
		return nil // no directory, or no state in it: nothing to take over
	}
	done, err := store.ImportDir(dir)
	log := p.opts.Logger.With().Str("state_dir", dir).Str("state_topic", p.cfg.StateTopic()).Logger()
	for _, imp := range done {
		event := log.Info()
		msg := "took the state file over into the state topic: from now on the topic is the record, and the directory can be moved aside"
		if imp.Kept {
			event = log.Warn()
			msg = "the state topic already holds a state for this skill: the state file was not taken over (the topic's is newer); move the directory aside"
		}
		event.Str("file", imp.File).Str("operation", imp.Key.Operation).Str("skill", imp.Key.SkillID).Msg(msg)
	}
	return err
}

// CatchUp returns once the state store has read every save that any
// process made before the call: a replica that becomes the active one
// calls it before it loads its state. The directory store, which one
// process owns, has nothing to catch up with.
func (p *Pipeline) CatchUp(ctx context.Context) error {
	if store, ok := p.Store.(interface{ CatchUp(context.Context) error }); ok {
		return store.CatchUp(ctx)
	}
	return nil
}
