// Package discovery finds cashlessd terminals on the LAN by DNS-SD over
// multicast DNS (github.com/brutella/dnssd): the daemon announces itself
// (Announce), and the ECR-side tools browse for terminals and resolve one
// by its terminal ID (Browse, Resolve). The service type and the TXT
// record keys are defined here once, for both ends.
package discovery

// Service naming: instances are "<terminal ID>._cashless._tcp.local.".
const (
	// ServiceType is the DNS-SD service type cashlessd announces.
	ServiceType = "_cashless._tcp"
	// Domain is the multicast DNS domain.
	Domain = "local"
)

// TXT record keys: what browsing shows and what resolving goes by.
const (
	txtTerminalID  = "terminalId"
	txtModel       = "model"
	txtVersion     = "version"
	txtFingerprint = "certSha256" // SHA-256 of the terminal certificate's DER, hex
	txtAPI         = "api"        // the API's base path
	txtPaired      = "paired"     // "1" once an ECR holds a credential of its own, else "0"
)

// apiBase is the API's base path, announced in the TXT record.
const apiBase = "/cashless/v1"
