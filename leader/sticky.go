package leader

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/segmentio/kafka-go"
)

// stickyBalancer gives the partition, and so the activity, to the member
// that was active in the latest generation among the members of the new
// one. A replica that joins (a rolling restart, a scale-up) then leaves the
// active one in place instead of taking over at once: every change of
// active replica stops the work and reloads the state, and kafka-go's range
// balancer would hand the partition to whichever member id sorts first. A
// member that was frozen past its session and comes back advertises an
// older generation than the one that replaced it, and stays a standby.
// Without any member that was ever active, the range balancer decides.
type stickyBalancer struct {
	// activeIn is the generation id in which this member was last
	// active, plus one; 0 when never.
	activeIn *atomic.Int64
}

func (stickyBalancer) ProtocolName() string { return "skill6pub-sticky" }

// UserData is the generation in which this member was last active.
func (b stickyBalancer) UserData() ([]byte, error) {
	return binary.BigEndian.AppendUint64(nil, uint64(b.activeIn.Load())), nil
}

func (stickyBalancer) AssignGroups(members []kafka.GroupMember, partitions []kafka.Partition) kafka.GroupMemberAssignments {
	var latest *kafka.GroupMember
	var latestGen uint64
	for i, m := range members {
		if len(m.UserData) != 8 {
			continue
		}
		if gen := binary.BigEndian.Uint64(m.UserData); gen > latestGen {
			latest, latestGen = &members[i], gen
		}
	}
	if latest == nil {
		return kafka.RangeGroupBalancer{}.AssignGroups(members, partitions)
	}
	out := kafka.GroupMemberAssignments{}
	for _, m := range members {
		out[m.ID] = map[string][]int{}
	}
	for _, p := range partitions {
		out[latest.ID][p.Topic] = append(out[latest.ID][p.Topic], p.ID)
	}
	return out
}
