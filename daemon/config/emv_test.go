package config

import "testing"

func TestEMVAndRandomSelectionKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"defaults", func(*Config) {}, true},
		{"random selection", func(c *Config) {
			c.Offline = Offline{Approvals: true, FloorLimit: 5000, TargetPercent: 10, MaxTargetPercent: 50, Threshold: 1000}
		}, true},
		{"target over 99", func(c *Config) { c.Offline.TargetPercent = 100; c.Offline.MaxTargetPercent = 100 }, false},
		{"maximum under target", func(c *Config) { c.Offline.TargetPercent = 20; c.Offline.MaxTargetPercent = 10 }, false},
		{"threshold at the floor limit", func(c *Config) {
			c.Offline = Offline{Approvals: true, FloorLimit: 5000, MaxTargetPercent: 50, Threshold: 5000}
		}, false},
		{"script limit under 128", func(c *Config) { c.EMV.ScriptLimit = 100 }, false},
		{"script limit 512", func(c *Config) { c.EMV.ScriptLimit = 512 }, true},
	} {
		c := Default()
		c.Simulator = true
		tc.edit(&c)
		if err := c.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
