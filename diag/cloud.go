package diag

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/admin"
	"github.com/vinr/cashlessd/daemon/cloudlink"
)

// cloudWait bounds the cloud check's connection.
const cloudWait = 10 * time.Second

// checkCloud reports the link to the cloud relay, when one is configured:
// the running daemon's own view when one answers (h not nil), else a
// connection made here with the terminal's key. A relay that cannot be
// reached is a warning: the LAN still takes payments.
func (d *diagnosis) checkCloud(ctx context.Context, h *admin.HealthReport) {
	start := time.Now()
	if !d.cfg.CloudEnabled() {
		return
	}
	if h != nil {
		detail := fmt.Sprintf("running daemon: %s since %s (%s)", h.Cloud.State, h.Cloud.Since.UTC().Format(time.RFC3339), d.cfg.Cloud.URL)
		switch h.Cloud.State {
		case daemon.CloudConnected:
			d.add("cloud", OK, detail, start)
		case daemon.CloudOff:
			d.add("cloud", Warn, "the running daemon has no cloud link; restart it to use "+d.cfg.Cloud.URL, start)
		default:
			d.add("cloud", Warn, detail+": the relay cannot be reached; the LAN still works", start)
		}
		return
	}
	cctx, cancel := context.WithTimeout(ctx, cloudWait)
	defer cancel()
	public, err := cloudlink.Probe(cctx, d.cfg.CloudLink(d.report.Version))
	switch {
	case errors.Is(err, cloudlink.ErrNoKey):
		d.add("cloud", Warn, err.Error(), start)
	case err != nil:
		d.add("cloud", Warn, fmt.Sprintf("%s: %v (the LAN still works)", d.cfg.Cloud.URL, err), start)
	default:
		d.add("cloud", OK, fmt.Sprintf("connected to %s as %s", d.cfg.Cloud.URL, public), start)
	}
}
