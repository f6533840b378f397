// Package e2e holds the relay's end-to-end tests: cashless-cloud with its
// embedded NATS in the test process, and real cashlessd simulator daemons
// as child processes connected to it over TLS. It has no code of its own.
package e2e
