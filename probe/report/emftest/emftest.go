// Package emftest holds a document to the CloudWatch embedded metric format
// specification
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html),
// for the tests of --format emf.
package emftest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// emfUnits are the units a MetricDefinition may name (the CloudWatch
// MetricDatum units the embedded metric format specification refers to).
var emfUnits = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true,
	"Megabytes": true, "Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true, "Megabits": true,
	"Gigabits": true, "Terabits": true, "Percent": true, "Count": true, "Bytes/Second": true,
	"Kilobytes/Second": true, "Megabytes/Second": true, "Gigabytes/Second": true, "Terabytes/Second": true,
	"Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true, "Gigabits/Second": true,
	"Terabits/Second": true, "Count/Second": true, "None": true,
}

// Check holds one document to the embedded metric format
// specification and returns every way it breaks it: one JSON object on one
// line; _aws with a Timestamp (milliseconds since the epoch) and
// CloudWatchMetrics, an array of MetricDirectives; each directive with a
// Namespace, Dimensions (DimensionSets of at most 30 keys) and Metrics (at
// most 100 MetricDefinitions, each a Name with an optional Unit and
// StorageResolution), and no other member; every dimension key naming a
// root member whose value is a non-empty string of at most 1024
// characters, every metric name a root member whose value is a number or
// an array of at most 100 numbers.
func Check(doc []byte) []string {
	var probs []string
	bad := func(f string, a ...any) { probs = append(probs, fmt.Sprintf(f, a...)) }
	if bytes.Count(doc, []byte("\n")) != 1 || !bytes.HasSuffix(doc, []byte("\n")) {
		bad("not one line")
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return append(probs, "not a JSON object: "+err.Error())
	}
	if dec.More() {
		bad("data after the object")
	}
	aws, ok := root["_aws"].(map[string]any)
	if !ok {
		return append(probs, "no _aws object")
	}
	for k := range aws {
		if k != "Timestamp" && k != "CloudWatchMetrics" && k != "LogGroupName" {
			bad("_aws has the unknown member %q", k)
		}
	}
	if ts, ok := aws["Timestamp"].(json.Number); !ok {
		bad("_aws.Timestamp is not a number")
	} else if n, err := ts.Int64(); err != nil || n <= 0 {
		bad("_aws.Timestamp %s is not milliseconds since the epoch", ts)
	}
	directives, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(directives) == 0 {
		return append(probs, "_aws.CloudWatchMetrics is not a non-empty array")
	}
	for i, d := range directives {
		dir, ok := d.(map[string]any)
		if !ok {
			bad("directive %d is not an object", i)
			continue
		}
		for k := range dir {
			if k != "Namespace" && k != "Dimensions" && k != "Metrics" {
				bad("directive %d has the unknown member %q", i, k)
			}
		}
		if ns, ok := dir["Namespace"].(string); !ok || ns == "" || len(ns) > 255 || strings.HasPrefix(ns, "AWS/") {
			bad("directive %d: Namespace %v", i, dir["Namespace"])
		}
		sets, ok := dir["Dimensions"].([]any)
		if !ok {
			bad("directive %d: Dimensions is not an array", i)
		}
		for j, s := range sets {
			keys, ok := s.([]any)
			if !ok || len(keys) > 30 {
				bad("directive %d: DimensionSet %d is not an array of at most 30 keys", i, j)
				continue
			}
			for _, k := range keys {
				name, _ := k.(string)
				v, ok := root[name].(string)
				if !ok || strings.TrimSpace(v) == "" || len(v) > 1024 {
					bad("directive %d: dimension %v has no string value (%v)", i, k, root[name])
				}
			}
		}
		ms, ok := dir["Metrics"].([]any)
		if !ok || len(ms) == 0 || len(ms) > 100 {
			bad("directive %d: Metrics is not an array of 1 to 100 definitions", i)
		}
		for _, m := range ms {
			def, ok := m.(map[string]any)
			if !ok {
				bad("directive %d: a metric definition is not an object", i)
				continue
			}
			for k := range def {
				if k != "Name" && k != "Unit" && k != "StorageResolution" {
					bad("metric %v has the unknown member %q", def["Name"], k)
				}
			}
			name, _ := def["Name"].(string)
			if name == "" || len(name) > 1024 {
				bad("metric name %v", def["Name"])
			}
			if u, has := def["Unit"]; has && !emfUnits[fmt.Sprint(u)] {
				bad("metric %s: unit %v", name, u)
			}
			if sr, has := def["StorageResolution"]; has && fmt.Sprint(sr) != "1" && fmt.Sprint(sr) != "60" {
				bad("metric %s: storage resolution %v", name, sr)
			}
			switch v := root[name].(type) {
			case json.Number:
				if f, err := v.Float64(); err != nil || math.IsInf(f, 0) {
					bad("metric %s: value %s", name, v)
				}
			case []any:
				if len(v) > 100 {
					bad("metric %s: %d values", name, len(v))
				}
				for _, x := range v {
					if _, ok := x.(json.Number); !ok {
						bad("metric %s: value %v is not a number", name, x)
					}
				}
			default:
				bad("metric %s: no numeric root member (%v)", name, root[name])
			}
		}
	}
	return probs
}
