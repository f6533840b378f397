package config

import (
	"path/filepath"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/cloudlink"
)

// Engine is the engine's configuration as this file describes it, for a
// daemon whose software version is softwareVersion. Validate first: an
// unreadable settlement time is taken as midnight.
func (c *Config) Engine(softwareVersion string) daemon.Config {
	settleAt, _ := c.SettleAt()
	return daemon.Config{
		TerminalID:      c.TerminalID,
		Model:           c.Model,
		SoftwareVersion: softwareVersion,
		Currency:        c.Currency,
		HasPrinter:      c.HasPrinter(),
		CardTimeout:     c.CardTimeout.Duration,
		PreauthValidity: c.PreauthValidity.Duration,
		Receipt: daemon.ReceiptLayout{
			Merchant:   daemon.Merchant{Name: c.Merchant.Name, Address: c.Merchant.Address, ID: c.Merchant.ID},
			TerminalID: c.TerminalID,
			Location:   c.Location(),
			Width:      c.Receipt.Width,
			QR:         c.Receipt.QR,
		},
		AutoSettle:       c.Settlement.Auto,
		SettleAt:         settleAt,
		PrintSettlement:  c.Settlement.PrintReport,
		OfflineApprovals: c.Offline.Approvals,
		FloorLimit:       c.Offline.FloorLimit,
		HostGrace:        c.Host.EchoInterval.Duration,
	}
}

// CloudLink is the cloud link's configuration as this file describes it,
// for a daemon whose software version is softwareVersion. Validate first.
func (c *Config) CloudLink(softwareVersion string) cloudlink.Config {
	creds := c.Cloud.CredentialsFile
	if creds != "" && !filepath.IsAbs(creds) {
		creds = filepath.Join(c.DataDir, creds)
	}
	return cloudlink.Config{
		URL:             c.Cloud.URL,
		CAFile:          c.Cloud.CAFile,
		CredentialsFile: creds,
		DataDir:         c.DataDir,
		TerminalID:      c.TerminalID,
		Model:           c.Model,
		SoftwareVersion: softwareVersion,
		Simulator:       c.Simulator,
	}
}
