package main

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzConfig feeds arbitrary YAML to the config loader: errors, never a
// panic, and an accepted config always validates.
func FuzzConfig(f *testing.F) {
	f.Add(defaultConfigYAML)
	f.Add([]byte("sources:\n  - name: a\n    type: file\n    path: /var/log/auth.log\n"))
	f.Add([]byte("policy:\n  allowlist: [192.0.2.1, 198.51.100.0/24]\n  default: {action: block, ttl: 4h, auto: true}\n"))
	f.Add([]byte("assets:\n  - match: 192.0.2.0/28\n    criticality: 5\n"))
	f.Add([]byte("allowlist: !0000 000\n"))
	f.Add([]byte("dedup_window: 4 hours\n"))
	if seeds, err := filepath.Glob("testdata/config/*.yaml"); err == nil {
		for _, s := range seeds {
			if b, err := os.ReadFile(s); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		base, err := defaultConfig()
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := decodeConfig(data, "fuzz.yaml", base)
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted config does not validate: %v", err)
		}
	})
}
