package wolkvoxsim

import (
	"strconv"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
)

// Format says how AppendBody writes a body.
type Format struct {
	// PlainNumbers writes "28.81" and "76" instead of wolkvox's "28.81 %"
	// and "00:01:16".
	PlainNumbers bool
	// CodeAsString writes "code":"200" instead of "code":200.
	CodeAsString bool
}

// AppendBody appends a wolkvox skill_6 response with rows to dst, every
// value a string as wolkvox sends them, "" for no value.
func AppendBody(dst []byte, rows []fetch.Row, f Format) []byte {
	if f.CodeAsString {
		dst = append(dst, `{"code":"200","error":null,"msg":"`...)
	} else {
		dst = append(dst, `{"code":200,"error":null,"msg":"`...)
	}
	dst = strconv.AppendInt(dst, int64(len(rows)), 10)
	dst = append(dst, ` records were found","data":[`...)
	for i := range rows {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendRow(dst, &rows[i], f.PlainNumbers)
	}
	return append(dst, "]}"...)
}

func appendRow(dst []byte, r *fetch.Row, plain bool) []byte {
	m := &r.Metrics
	dst = append(dst, `{"dnis":`...)
	dst = strconv.AppendQuote(dst, r.DNIS)
	dst = append(dst, `,"inbound_calls":"`...)
	dst = appendInt(dst, m.InboundCalls)
	dst = append(dst, `","answer_calls":"`...)
	dst = appendInt(dst, m.AnswerCalls)
	dst = append(dst, `","abandon_calls":"`...)
	dst = appendInt(dst, m.AbandonCalls)
	dst = append(dst, `","service_level_10seg":"`...)
	dst = appendPercent(dst, m.ServiceLevel10sPct, plain)
	dst = append(dst, `","service_level_20seg":"`...)
	dst = appendPercent(dst, m.ServiceLevel20sPct, plain)
	dst = append(dst, `","service_level_30seg":"`...)
	dst = appendPercent(dst, m.ServiceLevel30sPct, plain)
	dst = append(dst, `","abandon":"`...)
	dst = appendPercent(dst, m.AbandonPct, plain)
	dst = append(dst, `","asa":"`...)
	dst = appendSeconds(dst, m.ASASeconds, plain)
	dst = append(dst, `","ata":"`...)
	dst = appendSeconds(dst, m.ATASeconds, plain)
	return append(dst, `"}`...)
}

func appendInt(dst []byte, v schema.NullInt) []byte {
	if !v.Valid {
		return dst
	}
	return strconv.AppendInt(dst, v.Int, 10)
}

func appendPercent(dst []byte, v schema.NullFloat, plain bool) []byte {
	if !v.Valid {
		return dst
	}
	dst = strconv.AppendFloat(dst, v.Float, 'f', 2, 64)
	if plain {
		return dst
	}
	return append(dst, " %"...)
}

// appendSeconds writes whole seconds as HH:MM:SS (or plain seconds).
func appendSeconds(dst []byte, v schema.NullFloat, plain bool) []byte {
	if !v.Valid {
		return dst
	}
	s := int64(v.Float)
	if plain {
		return strconv.AppendInt(dst, s, 10)
	}
	dst = appendTwo(dst, s/3600)
	dst = append(dst, ':')
	dst = appendTwo(dst, s/60%60)
	dst = append(dst, ':')
	return appendTwo(dst, s%60)
}

func appendTwo(dst []byte, n int64) []byte {
	if n < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, n, 10)
}
