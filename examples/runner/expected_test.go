package main

import (
	"testing"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
)

func TestWeightedRoundsHalfUpInHundredths(t *testing.T) {
	row := func(calls int64, sl float64) fetch.Row {
		return fetch.Row{Metrics: schema.Metrics{InboundCalls: schema.IntOf(calls), ServiceLevel20sPct: schema.FloatOf(sl)}}
	}
	for _, c := range []struct {
		rows    []fetch.Row
		inbound int64
		want    string
	}{
		{[]fetch.Row{row(1, 33.33), row(1, 33.34)}, 2, "33.34"},                         // 33.335 rounds up
		{[]fetch.Row{row(3, 100), row(1, 0)}, 4, "75.00"},                               // weighted by calls
		{[]fetch.Row{row(2, 50), row(0, 10)}, 2, "50.00"},                               // no calls, no weight
		{[]fetch.Row{{Metrics: schema.Metrics{InboundCalls: schema.IntOf(4)}}}, 4, "-"}, // no value
	} {
		inbound, sl := weighted(c.rows)
		if inbound != c.inbound || sl != c.want {
			t.Errorf("weighted(%v) = %d, %s; want %d, %s", c.rows, inbound, sl, c.inbound, c.want)
		}
	}
}
