package routing

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Query is a condition on a request, in the operators Portkey's
// conditional routing uses: a field (metadata.<key> or params.<name>)
// compared with $eq $ne $in $nin $gt $gte $lt $lte $regex, combined with
// $and and $or; several members of one object must all hold.
type Query struct {
	all, any []Query // $and (and an object's members), $or
	field    string  // a comparison: field op value
	op       string
	value    any // string, float64, bool, or []any of those
	re       *regexp.Regexp
}

// Lookup finds a field's value for a request: a string, float64 or bool;
// ok is false when the request does not have it.
type Lookup func(field string) (value any, ok bool)

var operators = map[string]bool{"$eq": true, "$ne": true, "$in": true, "$nin": true, "$gt": true, "$gte": true, "$lt": true, "$lte": true, "$regex": true}

func parseQuery(v any, path string) (Query, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return Query{}, fieldError(path, "must be a non-empty object")
	}
	var q Query
	for _, k := range sortedKeys(m) {
		at := join(path, k)
		switch {
		case k == "$and" || k == "$or":
			raw, ok := m[k].([]any)
			if !ok || len(raw) == 0 {
				return Query{}, fieldError(at, "must be an array of queries")
			}
			var subs []Query
			for i, r := range raw {
				sub, err := parseQuery(r, fmt.Sprintf("%s[%d]", at, i))
				if err != nil {
					return Query{}, err
				}
				subs = append(subs, sub)
			}
			if k == "$and" {
				q.all = append(q.all, subs...)
			} else {
				q.all = append(q.all, Query{any: subs})
			}
		case strings.HasPrefix(k, "metadata.") && len(k) > len("metadata."), strings.HasPrefix(k, "params.") && len(k) > len("params."):
			cmps, err := parseComparisons(k, m[k], at)
			if err != nil {
				return Query{}, err
			}
			q.all = append(q.all, cmps...)
		default:
			return Query{}, fieldError(at, "must be $and, $or, metadata.<key> or params.<name>")
		}
	}
	return q, nil
}

func parseComparisons(field string, v any, path string) ([]Query, error) {
	ops, isObject := v.(map[string]any)
	if !isObject {
		val, err := scalar(v, path)
		if err != nil {
			return nil, err
		}
		return []Query{{field: field, op: "$eq", value: val}}, nil
	}
	if len(ops) == 0 {
		return nil, fieldError(path, "must hold at least one operator")
	}
	var out []Query
	for _, op := range sortedKeys(ops) {
		at := join(path, op)
		if !operators[op] {
			return nil, fieldError(at, "is not an operator ($eq $ne $in $nin $gt $gte $lt $lte $regex)")
		}
		q := Query{field: field, op: op}
		switch op {
		case "$in", "$nin":
			raw, ok := ops[op].([]any)
			if !ok {
				return nil, fieldError(at, "must be an array")
			}
			vals := make([]any, len(raw))
			for i, r := range raw {
				val, err := scalar(r, fmt.Sprintf("%s[%d]", at, i))
				if err != nil {
					return nil, err
				}
				vals[i] = val
			}
			q.value = vals
		case "$regex":
			s, ok := ops[op].(string)
			if !ok {
				return nil, fieldError(at, "must be a regular expression (RE2 syntax)")
			}
			re, err := regexp.Compile(s)
			if err != nil {
				return nil, fieldError(at, "is not a valid regular expression: %v", err)
			}
			q.re = re
		default:
			val, err := scalar(ops[op], at)
			if err != nil {
				return nil, err
			}
			q.value = val
		}
		out = append(out, q)
	}
	return out, nil
}

func scalar(v any, path string) (any, error) {
	switch x := v.(type) {
	case string, bool:
		return x, nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return nil, fieldError(path, "must be a number")
		}
		return f, nil
	}
	return nil, fieldError(path, "must be a string, a number or a boolean")
}

// Match says whether the request whose fields lookup finds meets q.
func (q Query) Match(lookup Lookup) bool {
	if q.field != "" {
		got, ok := lookup(q.field)
		return compare(q, got, ok)
	}
	for _, sub := range q.all {
		if !sub.Match(lookup) {
			return false
		}
	}
	if len(q.any) > 0 {
		for _, sub := range q.any {
			if sub.Match(lookup) {
				return true
			}
		}
		return false
	}
	return true
}

func compare(q Query, got any, present bool) bool {
	switch q.op {
	case "$eq":
		return present && equal(got, q.value)
	case "$ne":
		return !present || !equal(got, q.value)
	case "$in", "$nin":
		in := false
		for _, v := range q.value.([]any) {
			in = in || (present && equal(got, v))
		}
		return in == (q.op == "$in")
	case "$regex":
		s, ok := got.(string)
		return present && ok && q.re.MatchString(s)
	}
	if !present {
		return false
	}
	c, ok := order(got, q.value)
	if !ok {
		return false
	}
	switch q.op {
	case "$gt":
		return c > 0
	case "$gte":
		return c >= 0
	case "$lt":
		return c < 0
	default: // $lte
		return c <= 0
	}
}

// asNumber reads a number, or a string that holds one (metadata values
// are strings).
func asNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

func equal(a, b any) bool {
	if _, isNum := b.(float64); isNum {
		x, ok1 := asNumber(a)
		y, _ := asNumber(b)
		return ok1 && x == y
	}
	return a == b
}

// order compares a with b: numbers by value, strings by bytes.
func order(a, b any) (int, bool) {
	if y, isNum := b.(float64); isNum {
		x, ok := asNumber(a)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	}
	x, ok1 := a.(string)
	y, ok2 := b.(string)
	if !ok1 || !ok2 {
		return 0, false
	}
	return strings.Compare(x, y), true
}
