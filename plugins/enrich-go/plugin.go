// The enrich plugin: what eoshost calls (registered in main.go), over the
// rules in enrich.go.
package main

import "eoshost.local/go-sdk/eoshost"

// configure gets the --plugin-config KEY=VALUE pairs once per instance;
// an error stops eoshost (exit code 2) with its text.
func configure(config [][2]string) error {
	for _, kv := range config {
		return eoshost.Rejected(`unknown config key "` + kv[0] + `"`)
	}
	return nil
}

var regionKey = "region"

// transform is called once per record.
func transform(rec *eoshost.InputRecord) ([]eoshost.OutputRecord, error) {
	if rec.Value == nil {
		return nil, eoshost.Rejected("value is missing")
	}
	out, region, reason := Enrich(rec.Value)
	if reason != "" {
		return nil, eoshost.Rejected(reason)
	}
	headers := make([]eoshost.Header, 0, len(rec.Headers)+1)
	for _, h := range rec.Headers {
		if h.Key != regionKey {
			headers = append(headers, h)
		}
	}
	headers = append(headers, eoshost.Header{Key: regionKey, Value: []byte(region)})
	return []eoshost.OutputRecord{{Key: rec.Key, Value: out, Headers: headers}}, nil
}
