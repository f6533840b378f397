package printer

import "github.com/vinr/cashlessd/daemon"

// SampleReceipt is a typical sale receipt for 58 mm paper: 26 lines, the
// card number masked as the engine prints it. Tests in package printer_test
// use it too.
func SampleReceipt() daemon.Document {
	b := daemon.NewDocument(32)
	b.Double("ACME CAFÉ", daemon.AlignCenter).
		Text("12 High Street, Springfield", daemon.AlignCenter, false).
		Text("Tel 555-0100", daemon.AlignCenter, false).
		Rule().
		Double("SALE", daemon.AlignCenter).
		Pair("Date", "2026-03-14 12:34:56", false).
		Pair("Merchant ID", "000123456789", false).
		Pair("Terminal ID", "TID00042", false).
		Pair("Transaction", "01HQ3Z5K8M", false).
		Pair("Reference", "ORDER-1042", false).
		Rule().
		Pair("Card", "VISA **** 1234", false).
		Pair("Entry", "Chip", false).
		Pair("AID", "A0000000031010", false).
		Pair("TVR", "0000008000", false).
		Pair("Auth code", "A1B2C3", false).
		Rule().
		Pair("Amount", "€23.50", false).
		Pair("Tip", "€2.00", false).
		Pair("TOTAL", "€25.50", true).
		Rule().
		Double("APPROVED", daemon.AlignCenter).
		Text("PIN verified", daemon.AlignCenter, false).
		Blank().
		Text("CUSTOMER COPY", daemon.AlignCenter, true).
		Text("Merci, à bientôt!", daemon.AlignCenter, false)
	return b.Document()
}

// SampleReceiptQR is SampleReceipt with a QR code for the digital receipt.
func SampleReceiptQR() daemon.Document {
	d := SampleReceipt()
	d.Lines = append(d.Lines, daemon.Line{QR: "https://r.example.com/01HQ3Z5K8M", Align: daemon.AlignCenter})
	return d
}
