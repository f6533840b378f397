package hardware

import (
	"crypto/tls"
	"encoding/hex"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/daemon/config"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/store"
	"github.com/vinr/cashlessd/daemon/terminal"
	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/oda"
	"github.com/vinr/cashlessd/emv/reader"
	"github.com/vinr/cashlessd/printer"
)

// Simulator mode's acquirer identities, when the [host] section names none.
const (
	SimTerminalID = "SIM00001"
	SimMerchantID = "SIMMERCHANT0001"
)

// ReaderConfig maps the [reader] section onto the serial reader driver.
func ReaderConfig(cfg config.Config, log zerolog.Logger) reader.Config {
	return reader.Config{Device: cfg.Reader.Device, Baud: cfg.Reader.Baud, ResponseTimeout: cfg.Reader.ResponseTimeout.Duration, Logger: log}
}

// Kernel makes the EMV kernel the [reader], [offline] and [emv] sections
// ask for.
func Kernel(cfg config.Config) (*emv.Kernel, error) {
	kcfg := emv.DefaultConfig()
	kcfg.ContactlessCVMLimit = cfg.Reader.ContactlessCVMLimit
	kcfg.ContactlessTransactionLimit = cfg.Reader.ContactlessTransactionLimit
	for i := range kcfg.AIDs {
		if l, ok := cfg.Reader.SchemeLimits[kcfg.AIDs[i].Scheme]; ok {
			kcfg.AIDs[i].ContactlessCVMLimit, kcfg.AIDs[i].ContactlessTransactionLimit = l.CVMLimit, l.TransactionLimit
		}
	}
	kcfg.OfflineApprovals, kcfg.FloorLimit = cfg.Offline.Approvals, cfg.Offline.FloorLimit
	kcfg.ScriptLimit = cfg.EMV.ScriptLimit
	if cfg.Offline.Approvals {
		kcfg.RandomSelectionPercent, kcfg.RandomSelectionMaxPercent = cfg.Offline.TargetPercent, cfg.Offline.MaxTargetPercent
		kcfg.RandomSelectionThreshold = cfg.Offline.Threshold
	}
	capks, err := CAPKs(cfg)
	if err != nil {
		return nil, err
	}
	kcfg.CAPKs = capks
	if cfg.Offline.TACDefault != "" {
		tac, err := hex.DecodeString(cfg.Offline.TACDefault)
		if err != nil {
			return nil, fmt.Errorf("offline.tac_default: %w", err)
		}
		for i := range kcfg.AIDs {
			kcfg.AIDs[i].TACDefault = tac
		}
	}
	return emv.NewKernel(kcfg)
}

// CAPKs are the CA public keys for offline data authentication: those of
// emv.capk_file, or in simulator mode without one the simulator's test
// keys. Test keys outside simulator mode are refused.
func CAPKs(cfg config.Config) ([]oda.CAPK, error) {
	if cfg.EMV.CAPKFile == "" {
		if cfg.Simulator {
			return oda.TestCAPKs(), nil
		}
		return nil, nil
	}
	keys, err := oda.LoadCAPKFile(cfg.EMV.CAPKFile)
	if err != nil {
		return nil, fmt.Errorf("emv.capk_file: %w", err)
	}
	for _, k := range keys {
		if k.Test && !cfg.Simulator {
			return nil, fmt.Errorf("emv.capk_file: key %X/%02X is a test key; production terminals take production keys only", k.RID, k.Index)
		}
	}
	return keys, nil
}

// HostConfig maps the [host] section onto the ISO 8583 client: TLS with
// certificate verification against host.server_name (else the host part
// of host.address) unless host.tls = false, or in simulator mode.
// Counters is left for the caller: the daemon's store, or a one-off
// echo's own.
func HostConfig(cfg config.Config, log zerolog.Logger) (host.Config, error) {
	h := host.Config{
		Address:      cfg.Host.Address,
		TerminalID:   cfg.Host.TerminalID,
		MerchantID:   cfg.Host.MerchantID,
		Timeout:      cfg.Host.Timeout.Duration,
		EchoInterval: cfg.Host.EchoInterval.Duration,
		Dialect:      cfg.Host.Dialect,
		Log:          log,
	}
	if cfg.Host.TPDU != "" {
		tpdu, err := hex.DecodeString(cfg.Host.TPDU)
		if err != nil {
			return h, fmt.Errorf("host.tpdu: %w", err)
		}
		h.TPDU = tpdu
	}
	if cfg.Simulator {
		if h.TerminalID == "" {
			h.TerminalID = SimTerminalID
		}
		if h.MerchantID == "" {
			h.MerchantID = SimMerchantID
		}
	}
	if cfg.HostTLS() {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.HostServerName()}
		if cfg.Host.CAFile != "" {
			pool, err := certs.Pool(cfg.Host.CAFile)
			if err != nil {
				return h, fmt.Errorf("host.ca_file: %w", err)
			}
			tc.RootCAs = pool
		}
		h.TLS = tc
	}
	return h, nil
}

// HostCounters are the host link's persisted counters (STAN, batch
// number) over db: six digits, STANs reserved in blocks.
func HostCounters(db *store.DB) *store.Counters {
	return store.NewCounters(db, host.CounterWrap, host.CounterBlocks())
}

// CardCounters are the card acceptor's persisted counters over db: the
// transaction sequence counter (9F41), eight digits, reserved in blocks.
func CardCounters(db *store.DB) *store.Counters {
	return store.NewCounters(db, terminal.SequenceWrap, map[string]uint32{terminal.CounterSequence: terminal.SequenceBlock})
}

// PrinterConfig maps the [printer] section onto the serial driver.
func PrinterConfig(cfg config.Config) printer.SerialConfig {
	return printer.SerialConfig{
		Device:      cfg.Printer.Device,
		Baud:        cfg.Printer.Baud,
		FlowControl: printer.FlowControl(cfg.Printer.FlowControl),
		JobTimeout:  cfg.Printer.JobTimeout.Duration,
		Encoder:     printer.Encoder{CodePage: printer.CodePage(cfg.Printer.CodePage)},
	}
}
