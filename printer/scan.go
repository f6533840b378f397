package printer

// Op is the kind of a Token.
type Op int

// Token kinds.
const (
	OpText        Op = iota // printable bytes; Data
	OpLineFeed              // LF: print the line buffer and feed one line
	OpInit                  // ESC @
	OpCodePage              // ESC t n; N
	OpAlign                 // ESC a n; N
	OpBold                  // ESC E n; N
	OpSize                  // GS ! n; N
	OpCut                   // GS V m [n]; Fn = m, N = n
	OpQR                    // GS ( k with cn 49; Fn = the function, Data = its parameters after fn
	OpStatusQuery           // DLE EOT n; N
	OpOther                 // a command or byte outside the subset, skipped
)

// Token is one command, or one run of text, of an ESC/POS stream. Data
// points into the scanned bytes.
type Token struct {
	Op   Op
	Fn   byte
	N    byte
	Data []byte
}

// Scan reads the token at the start of p and returns it with the number of
// bytes it takes. When p holds only the beginning of a command, Scan
// returns n == 0 to ask for more bytes, unless atEOF, when it takes the
// rest of p as OpOther. Scan never returns n == 0 for a non-empty p with
// atEOF set, so a loop over it always ends.
func Scan(p []byte, atEOF bool) (tok Token, n int) {
	if len(p) == 0 {
		return Token{Op: OpOther}, 0
	}
	need := func(k int) bool { return len(p) >= k }
	short := func() (Token, int) {
		if atEOF {
			return Token{Op: OpOther}, len(p)
		}
		return Token{}, 0
	}
	switch b := p[0]; {
	case printable(b):
		i := 1
		for i < len(p) && printable(p[i]) {
			i++
		}
		return Token{Op: OpText, Data: p[:i]}, i
	case b == lf:
		return Token{Op: OpLineFeed}, 1
	case b == esc:
		if !need(2) {
			return short()
		}
		return scanESC(p, short)
	case b == gs:
		if !need(2) {
			return short()
		}
		return scanGS(p, short)
	case b == dle:
		if !need(2) {
			return short()
		}
		switch p[1] {
		case eot, 0x05: // DLE EOT n, DLE ENQ n
			if !need(3) {
				return short()
			}
			if p[1] == eot {
				return Token{Op: OpStatusQuery, N: p[2]}, 3
			}
			return Token{Op: OpOther}, 3
		case 0x14: // DLE DC4 fn m t
			if !need(5) {
				return short()
			}
			return Token{Op: OpOther}, 5
		}
	}
	return Token{Op: OpOther}, 1
}

// scanESC reads ESC x …; p has at least two bytes.
func scanESC(p []byte, short func() (Token, int)) (Token, int) {
	arg := func(op Op) (Token, int) {
		if len(p) < 3 {
			return short()
		}
		return Token{Op: op, N: p[2]}, 3
	}
	switch p[1] {
	case '@':
		return Token{Op: OpInit}, 2
	case 't':
		return arg(OpCodePage)
	case 'a':
		return arg(OpAlign)
	case 'E':
		return arg(OpBold)
	case '!', '-', '3', 'J', 'M', 'd', 'e', 'G', 'R', 'V', '{', 'r', ' ', 'U':
		return arg(OpOther) // one-byte parameter commands, skipped
	case '2':
		return Token{Op: OpOther}, 2
	case 'p': // ESC p m t1 t2: drawer kick
		if len(p) < 5 {
			return short()
		}
		return Token{Op: OpOther}, 5
	}
	return Token{Op: OpOther}, 2
}

// scanGS reads GS x …; p has at least two bytes.
func scanGS(p []byte, short func() (Token, int)) (Token, int) {
	switch p[1] {
	case '!':
		if len(p) < 3 {
			return short()
		}
		return Token{Op: OpSize, N: p[2]}, 3
	case 'V':
		if len(p) < 3 {
			return short()
		}
		switch m := p[2]; m {
		case 0, 1, 48, 49:
			return Token{Op: OpCut, Fn: m}, 3
		case 65, 66, 97, 98, 103, 104:
			if len(p) < 4 {
				return short()
			}
			return Token{Op: OpCut, Fn: m, N: p[3]}, 4
		}
		return Token{Op: OpOther}, 3
	case '(':
		// GS ( x pL pH data: k (symbols) and the other functions alike.
		if len(p) < 5 {
			return short()
		}
		size := int(p[3]) | int(p[4])<<8
		if len(p) < 5+size {
			return short()
		}
		if p[2] == 'k' && size >= 2 && p[5] == qrCn {
			return Token{Op: OpQR, Fn: p[6], Data: p[7 : 5+size]}, 5 + size
		}
		return Token{Op: OpOther}, 5 + size
	case 'B', 'H', 'f', 'h', 'w', 'a', 'b', 'I', 'r':
		if len(p) < 3 {
			return short()
		}
		return Token{Op: OpOther}, 3
	case 'L', 'W':
		if len(p) < 4 {
			return short()
		}
		return Token{Op: OpOther}, 4
	}
	return Token{Op: OpOther}, 2
}
