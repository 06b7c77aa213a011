package snapshot

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
)

// build holds what every event of one window and revision shares.
type build struct {
	cur      Window
	env      schema.Envelope // without event id and type
	prepared prepared
	// previousStart is the start of the window the events are compared
	// with, nil when none is known: part of every id (schema.IDScope).
	previousStart *time.Time
}

func newBuild(cur Window, revision int, previousStart *time.Time) *build {
	b := &build{cur: cur, previousStart: previousStart}
	b.env = schema.Envelope{
		SchemaVersion: schema.Version,
		Operation:     cur.Operation,
		SkillID:       cur.SkillID,
		WindowStart:   cur.Start,
		WindowEnd:     cur.End,
		Revision:      revision,
		// The clock may run in UTC or the host's zone; the events speak the
		// operation's.
		FetchedAt: schema.MilliOf(cur.FetchedAt.In(cur.Start.Location())),
		Producer:  cur.Producer,
	}
	b.prepared = prepare(cur, &b.env)
	return b
}

// envelope returns the envelope of an event of the window.
func (b *build) envelope(eventType, id string) schema.Envelope {
	e := b.env
	e.EventType = eventType
	e.EventID = id
	return e
}

// dnisEvents compares the window's rows with base (sorted by DNIS, one row
// per DNIS) and returns, in publishing order, a dnis_window for each row
// that classify keeps, with the change it gives (prev is nil for a DNIS
// absent from base), then a dnis_gone for each DNIS of base absent from the
// rows; and the DNIS found in both. The window_closed is left to the caller.
//
// The events are planned here and built by Events.Slice. A first pass
// counts and computes the ids of the dnis_window events, reading the rows in
// order; the second writes the plan and the ids of the dnis_gone, each
// allocated once at its exact size. keptHint is how many rows classify is
// expected to keep (all of them in a diff), to size the ids' buffer.
func (b *build) dnisEvents(base []fetch.Row, previousKnown bool, keptHint int, classify func(cur, prev *schema.Metrics) (change, bool)) (events Events, both []string) {
	rows := b.prepared.rows
	baseKey := func(j int) string { return base[j].DNIS }
	windowIDs := b.idAppender(schema.TypeDNISWindow)
	var windowIDBuf strings.Builder
	windowIDBuf.Grow(keptHint * schema.EventIDLength)
	var id [schema.EventIDLength]byte
	var kept, gone, matched int
	join(rows, len(base), baseKey, func(i, j int) {
		var prev *schema.Metrics
		if j >= 0 {
			prev = &base[j].Metrics
			matched++
		}
		if _, keep := classify(&rows[i].Metrics, prev); keep {
			kept++
			windowIDBuf.Write(windowIDs.Append(id[:0], rows[i].DNIS))
		}
	}, func(int) { gone++ })

	events = Events{
		env:           b.env,
		hashed:        b.cur.Hasher.Enabled(),
		previousKnown: previousKnown,
		rows:          rows,
		sources:       b.prepared.sources,
		base:          base,
		windows:       make([]windowStep, 0, kept),
		windowIDs:     windowIDBuf.String(),
		gone:          make([]int32, 0, gone),
	}
	both = make([]string, 0, matched)
	goneIDs := b.idAppender(schema.TypeDNISGone)
	goneIDBuf := make([]byte, 0, gone*schema.EventIDLength)
	join(rows, len(base), baseKey, func(i, j int) {
		var prev *schema.Metrics
		if j >= 0 {
			prev = &base[j].Metrics
			both = append(both, rows[i].DNIS)
		}
		if change, keep := classify(&rows[i].Metrics, prev); keep {
			events.windows = append(events.windows, windowStep{row: int32(i), base: int32(j), change: change})
		}
	}, func(j int) {
		events.gone = append(events.gone, int32(j))
		goneIDBuf = goneIDs.Append(goneIDBuf, base[j].DNIS)
	})
	events.goneIDs = string(goneIDBuf)
	return events, both
}

func (b *build) idAppender(eventType string) *schema.IDAppender {
	return schema.NewIDAppender(eventType, b.idScope())
}

// idScope is what the ids of the window's events share.
func (b *build) idScope() schema.IDScope {
	return schema.IDScope{
		Operation: b.env.Operation, SkillID: b.env.SkillID,
		WindowStart: b.env.WindowStart, WindowEnd: b.env.WindowEnd,
		Revision: b.env.Revision, PreviousWindowStart: b.previousStart,
	}
}

// idAt returns the k-th of the ids in all, one after the other.
func idAt(all string, k int) string {
	return all[k*schema.EventIDLength : (k+1)*schema.EventIDLength]
}

func (b *build) windowClosed(dnisEvents, gone, repeaters int) *schema.WindowClosed {
	return &schema.WindowClosed{
		Envelope:            b.envelope(schema.TypeWindowClosed, schema.EventID(schema.TypeWindowClosed, b.idScope(), schema.WindowSubject)),
		PreviousWindowKnown: b.previousStart != nil,
		PreviousWindowStart: b.inZone(b.previousStart),
		RowCount:            len(b.prepared.rows),
		MergedRows:          b.prepared.merged,
		RejectedRows:        len(b.prepared.dead),
		DNISWindowEvents:    dnisEvents,
		GoneCount:           gone,
		RepeatCallers:       repeaters,
		MaybeTruncated:      b.cur.Report.MaybeTruncated,
		NoData:              b.cur.Report.NoData,
		Totals:              totals(b.prepared.rows),
	}
}

func (b *build) snapshot(repeaters []string) Snapshot {
	var rejected []string
	for _, d := range b.prepared.dead {
		rejected = append(rejected, d.DeadLetterID)
	}
	return Snapshot{
		WindowStart:         b.cur.Start,
		WindowEnd:           b.cur.End,
		Revision:            b.env.Revision,
		Rows:                b.prepared.rows,
		PreviousWindowStart: b.inZone(b.previousStart),
		Repeaters:           repeaters,
		RejectedRows:        len(b.prepared.dead),
		RejectedIDs:         canonicalStrings(rejected),
		MergedRows:          b.prepared.merged,
		MaybeTruncated:      b.cur.Report.MaybeTruncated,
		NoData:              b.cur.Report.NoData,
		DNISKeyID:           b.cur.Hasher.KeyID(),
	}
}

// inZone returns a copy of *t in the operation's zone (a snapshot read back
// from disk has lost the zone's name), or nil.
func (b *build) inZone(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	in := t.In(b.cur.Start.Location())
	return &in
}

// prepared is a window's typed rows made ready to compare: pseudonymized,
// checked against the schema's ranges, sorted by DNIS and merged to one row
// per DNIS; and its dead letters.
type prepared struct {
	rows    []fetch.Row
	sources []int32 // response rows behind each row; nil when all are 1
	merged  int     // rows merged into another row of the same DNIS
	dead    []schema.DeadLetter
}

// rawWithheld is added to the reason of a rejected row whose raw JSON could
// not be searched for its DNIS while pseudonymization is on.
const rawWithheld = " (raw row withheld: it is not a JSON object and DNIS_HMAC_KEY is set)"

func prepare(cur Window, env *schema.Envelope) prepared {
	var p prepared
	hashed := cur.Hasher.Enabled()
	// seen counts identical rejected rows, which the ids tell apart.
	seen := map[string]int{}
	for _, r := range cur.Report.Rejected {
		if !cur.Pseudonymized {
			r = pseudonymizeRejected(cur.Hasher, r)
		}
		p.dead = append(p.dead, schema.RowDeadLetter(env, r.Index, seen["row"+string(r.Raw)], r.Reason, r.Raw, hashed))
		seen["row"+string(r.Raw)]++
	}

	typed := cur.Report.Rows
	pseudonyms := ""
	hashing := cur.Hasher.Enabled() && !cur.Pseudonymized
	if hashing {
		pseudonyms = pseudonymize(cur.Hasher, typed)
	}
	order := make([]keyed, 0, len(typed))
	for k := range typed {
		dnis := typed[k].DNIS
		if hashing {
			dnis = pseudonymAt(pseudonyms, k)
		}
		// The fetcher types rows but cannot know what the schema refuses;
		// such a row would make the whole window unpublishable.
		if err := typed[k].Metrics.Validate(); err != nil {
			raw := refusedRaw(dnis, typed[k].Metrics)
			p.dead = append(p.dead, schema.TypedRowDeadLetter(env, seen["typed"+string(raw)], err.Error(), raw, hashed))
			seen["typed"+string(raw)]++
			continue
		}
		order = append(order, keyed{dnis: dnis, index: int32(k)})
	}
	sortByDNIS(order)
	p.rows, p.sources, p.merged = mergeRuns(typed, order)
	return p
}

// pseudonymize returns the pseudonyms of the rows' DNIS, end to end in one
// string: one allocation for the window rather than one per row.
func pseudonymize(h *schema.DNISHasher, rows []fetch.Row) string {
	var all strings.Builder
	all.Grow(len(rows) * schema.PseudonymLength)
	var buf [schema.PseudonymLength]byte
	for i := range rows {
		all.Write(h.AppendHash(buf[:0], rows[i].DNIS))
	}
	return all.String()
}

// pseudonymAt returns the i-th pseudonym of a string from pseudonymize.
func pseudonymAt(all string, i int) string {
	return all[i*schema.PseudonymLength : (i+1)*schema.PseudonymLength]
}

// pseudonymizeRejected returns r as its dead letter carries it: the "dnis"
// member of its raw JSON pseudonymized, or the raw row withheld (and the
// reason saying so) when it cannot be searched for its DNIS.
func pseudonymizeRejected(h *schema.DNISHasher, r fetch.RejectedRow) fetch.RejectedRow {
	raw, withheld := h.PseudonymizeRaw(r.Raw)
	r.Raw = raw
	if withheld {
		r.Reason += rawWithheld
	}
	return r
}

// mergeRuns returns the rows in order, each with the DNIS it is published
// under, one per DNIS.
//
// wolkvox may send a DNIS more than once in a response (with skill_id=all,
// presumably once per skill). The rows are merged rather than one of them
// dead-lettered: keyed consumers expect one row per DNIS and window, and
// either row alone would understate the caller's calls and the totals.
// Counts are summed; service levels and abandon_pct are weighted by inbound
// calls, ASA by answered and ATA by abandoned calls, as in the totals. The
// merge stays visible: source_rows on the event, merged_rows on the
// window_closed.
//
// The metrics are copied in response order into their sorted places:
// reading 100,000 rows in sorted order jumps around memory and stalls on
// every row, writing them in scattered places does not.
func mergeRuns(typed []fetch.Row, order []keyed) (rows []fetch.Row, sources []int32, merged int) {
	packInOrder(order)
	rows = make([]fetch.Row, 0, len(order))
	place := make([]int32, len(typed)) // where typed[k] goes, -1: merged or refused
	for k := range place {
		place[k] = -1
	}
	for start := 0; start < len(order); {
		end := start + 1
		for end < len(order) && order[end].dnis == order[start].dnis {
			end++
		}
		row := fetch.Row{DNIS: order[start].dnis}
		if n := end - start; n == 1 {
			place[order[start].index] = int32(len(rows))
		} else {
			var sum aggregate
			for _, k := range order[start:end] {
				sum.add(typed[k.index].Metrics)
			}
			row.Metrics = sum.metrics()
			if sources == nil {
				sources = make([]int32, len(rows), len(order))
				for i := range sources {
					sources[i] = 1
				}
			}
			merged += n - 1
		}
		rows = append(rows, row)
		if sources != nil {
			sources = append(sources, int32(end-start))
		}
		start = end
	}
	for k, to := range place {
		if to >= 0 {
			rows[to].Metrics = typed[k].Metrics
		}
	}
	return rows, sources, merged
}

// packInOrder copies the DNIS of order into one string, in their order.
// They arrive scattered (in response order, or allocated one by one by the
// JSON decoder of the state store); packed in DNIS order, the comparisons
// of neighbours here, the joins of this diff, and those of the next one
// with this snapshot read memory in order.
func packInOrder(order []keyed) {
	size := 0
	for i := range order {
		size += len(order[i].dnis)
	}
	var all strings.Builder
	all.Grow(size)
	for i := range order {
		all.WriteString(order[i].dnis)
	}
	packed := all.String()
	for i, k := range order {
		order[i].dnis, packed = packed[:len(k.dnis)], packed[len(k.dnis):]
	}
}

// canonicalRows returns rows sorted by DNIS with one row per DNIS. A
// snapshot written by this package already is, and is returned as it is.
func canonicalRows(rows []fetch.Row) []fetch.Row {
	if isStrictlySorted(len(rows), func(i int) string { return rows[i].DNIS }) {
		return rows
	}
	order := make([]keyed, len(rows))
	for i := range rows {
		order[i] = keyed{dnis: rows[i].DNIS, index: int32(i)}
	}
	sortByDNIS(order)
	out, _, _ := mergeRuns(rows, order)
	return out
}

// canonicalStrings returns s sorted without duplicates, s itself when it
// already is.
func canonicalStrings(s []string) []string {
	if isStrictlySorted(len(s), func(i int) string { return s[i] }) {
		return s
	}
	return slices.Compact(slices.Sorted(slices.Values(s)))
}

func isStrictlySorted(n int, key func(i int) string) bool {
	for i := 1; i < n; i++ {
		if key(i-1) >= key(i) {
			return false
		}
	}
	return true
}

// refusedRaw is the raw JSON of a typed row that Validate refused, for its
// dead letter: the row as typed, with non-finite values (which JSON cannot
// hold) as null; the reason names the value.
func refusedRaw(dnis string, m schema.Metrics) json.RawMessage {
	for _, f := range []*schema.NullFloat{&m.ServiceLevel10sPct, &m.ServiceLevel20sPct, &m.ServiceLevel30sPct, &m.AbandonPct, &m.ASASeconds, &m.ATASeconds} {
		if math.IsNaN(f.Float) || math.IsInf(f.Float, 0) {
			*f = schema.NullFloat{}
		}
	}
	raw, _ := json.Marshal(fetch.Row{DNIS: dnis, Metrics: m}) // cannot fail: only finite numbers are left
	return raw
}
