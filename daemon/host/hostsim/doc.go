// Package hostsim is a simulated acquirer host: a real ISO 8583 server on
// TCP (optionally TLS) that speaks the protocol of package host, decides by
// test card like an issuer, and keeps a ledger of approvals, reversals and
// settlements in a file (JSON lines, one appended and synced per booking)
// so another process can reconcile against it.
//
// Test cards: 4000000000000002 → 05 (card_declined), 4000000000009995 → 51
// (insufficient_funds), 4000000000000069 → 54 (expired_card),
// 4000000000000127 → 55 (incorrect_pin), 4000000000000119 → 96 (system
// malfunction, retry-safe); any other card is approved.
//
// Offline advices (0220/0221 with POS condition 00) are booked once per
// terminal and transaction ID as sales marked Offline; settlement counts
// them like any sale. A TC advice (0220/0221 with 39 = 00) completes an
// approval given online: the issuer script results (9F5B) in its chip data
// are recorded on the approval (Approval.ScriptResults), as are those of a
// batch upload; the test amounts 900.72 to 900.74 add issuer scripts to an
// approval, and 900.75 spoils its issuer authentication data so the card
// refuses it (magic.go). The reversal of an approval the card refused
// carries the card's final chip data (55, with the AAC): it is checked and
// recorded with the reversal (Reversal.Cryptogram, TVR, ScriptResults).
//
// After a settlement answered 95 the terminal uploads the batch (0320, one
// per transaction): the host books what it did not have, marks each as
// uploaded, and the settlement after the upload (0500, processing code
// 960000) settles on the uploaded transactions.
//
// Each approval keeps the MTI, STAN and transmission time of its request: a
// completion, refund or reversal whose original data elements (field 90)
// name another request is refused (25) and logged, so a terminal that
// forgets its originals fails its tests. Requests lists what arrived, in
// wire order.
//
// SetLatency, SetOffline and SetDropResponse reproduce a slow, unreachable
// or silent host; SetHoldAdvices and SetHoldReversals keep advices or
// reversals queued at the terminal; ForgetApproval makes the host lose an
// approval, so the totals differ. The ledger never holds a full card number.
package hostsim
