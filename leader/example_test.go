package leader_test

import (
	"context"
	"time"

	"github.com/skill6pub/skill6pub/leader"
	"github.com/skill6pub/skill6pub/state/kafkastore"
)

// The service's wiring: the state store first (it creates or checks the
// topic the group needs), then the election; the scheduler runs only while
// this replica is the active one, and loads its state when it starts, from
// a store that has kept reading the topic while it stood by.
func ExampleElector_Run() {
	ctx := context.Background()
	store, err := kafkastore.Open(ctx, kafkastore.Config{
		Topic: "wolkvox.skill6.dnis-service-level.state", Brokers: []string{"127.0.0.1:9092"}, CreateTopic: true,
	})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	elector, err := leader.New(leader.Config{
		SessionTimeout: 10 * time.Second, HeartbeatInterval: time.Second, RebalanceTimeout: 30 * time.Second,
		Brokers: []string{"127.0.0.1:9092"}, Topic: "wolkvox.skill6.dnis-service-level.state", Group: "skill6pub-0032",
		Observe: func(active bool) { /* set skill6pub_active; count a takeover on true */ },
	})
	if err != nil {
		panic(err)
	}
	err = elector.Run(ctx, func(ctx context.Context) error {
		// scheduler.Run(ctx) with store as its Store: Load, then Save
		// the write-ahead record and the commit of each window.
		<-ctx.Done()
		return nil
	})
	if err != nil {
		panic(err)
	}
}
