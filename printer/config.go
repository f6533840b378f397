package printer

import (
	"fmt"
	"time"
)

// FlowControl is how the printer paces the host on the serial line.
type FlowControl string

// Flow control modes. The empty FlowControl means FlowNone.
const (
	FlowNone    FlowControl = "none"
	FlowRTSCTS  FlowControl = "rtscts"
	FlowXONXOFF FlowControl = "xonxoff"
)

// Defaults for the zero fields of SerialConfig.
const (
	DefaultBaud         = 115200
	DefaultJobTimeout   = 20 * time.Second
	DefaultReplyTimeout = time.Second
)

// SerialConfig is how to reach a printer on a serial line (8N1).
type SerialConfig struct {
	Device       string        // the device path; a symlink is followed again at every open
	Baud         int           // line speed; 0 means DefaultBaud
	FlowControl  FlowControl   // "none", "rtscts" or "xonxoff"; "" means none
	JobTimeout   time.Duration // the most one job (or status check) may take; 0 means DefaultJobTimeout
	ReplyTimeout time.Duration // the most the printer may take to answer one status query; 0 means DefaultReplyTimeout
	Encoder      Encoder       // how documents become bytes
}

// withDefaults checks the configuration and fills in the zero fields.
func (c SerialConfig) withDefaults() (SerialConfig, error) {
	if c.Device == "" {
		return c, fmt.Errorf("printer: no device configured")
	}
	if c.Baud == 0 {
		c.Baud = DefaultBaud
	}
	if c.Baud < 0 {
		return c, fmt.Errorf("printer: baud %d: must be positive", c.Baud)
	}
	switch c.FlowControl {
	case "":
		c.FlowControl = FlowNone
	case FlowNone, FlowRTSCTS, FlowXONXOFF:
	default:
		return c, fmt.Errorf("printer: flow control %q: must be none, rtscts or xonxoff", c.FlowControl)
	}
	if c.JobTimeout <= 0 {
		c.JobTimeout = DefaultJobTimeout
	}
	if c.ReplyTimeout <= 0 {
		c.ReplyTimeout = DefaultReplyTimeout
	}
	if !c.Encoder.CodePage.Valid() {
		return c, fmt.Errorf("printer: code page %q: must be cp437, cp858 or wpc1252", c.Encoder.CodePage)
	}
	return c, nil
}
