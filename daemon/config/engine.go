package config

import "github.com/vinr/cashlessd/daemon"

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
