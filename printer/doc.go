// Package printer drives the terminal's ESC/POS thermal printer.
//
// It holds three things that share one definition of the command subset:
//
//   - the encoder (Encode), which turns a daemon.Document into the bytes of
//     one print job: ESC @, the code page, the lines with their alignment,
//     emphasis and size, QR codes (GS ( k) and a feed-and-cut;
//   - the decoder (Scan, Decoder, Decode), which turns those bytes back into
//     lines; the virtual printer and the tests read jobs with it;
//   - the serial driver (Serial), a daemon.Printer that asks the printer for
//     its real-time status (DLE EOT) before every job and refuses the job
//     with a StateError when it cannot print.
//
// Text is sent in one declared code page (CP858 by default, which has the
// euro sign); characters the code page lacks are transliterated to one
// printable character each, so a line keeps its width and the paper never
// shows garbage.
package printer
