package discovery

import (
	"net"
	"testing"

	"github.com/brutella/dnssd"
)

// The TXT record says whether an ECR is paired (paired=0/1), never more.
func TestPairedFlag(t *testing.T) {
	t.Parallel()
	if got := pairedText(nil); got != "0" {
		t.Errorf("no pairing state: %q", got)
	}
	if got := pairedText(func() bool { return true }); got != "1" {
		t.Errorf("paired: %q", got)
	}
	for txt, want := range map[string]bool{"1": true, "0": false, "": false} {
		e := dnssd.BrowseEntry{Name: "term_1", Port: 8443, IPs: []net.IP{net.ParseIP("192.0.2.7")}, Type: ServiceType, Domain: Domain,
			Text: map[string]string{txtTerminalID: "term_1", txtPaired: txt}}
		found, ok := fromEntry(e)
		if !ok || found.Paired != want {
			t.Errorf("paired=%q read as %v (%v)", txt, found.Paired, ok)
		}
	}
}
