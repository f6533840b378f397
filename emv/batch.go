package emv

import (
	"context"
	"fmt"
)

// BatchTransport is a Transport that can send several command APDUs in
// one exchange with the reader (the reader protocol's APDUS). It returns
// the responses of the first of them, at least one: the reader stops
// after a status word other than 90 00 and when the answer is full.
type BatchTransport interface {
	Transport
	TransmitBatch(ctx context.Context, apdus [][]byte) ([][]byte, error)
}

// answer is the outcome of one command of ExchangeAll.
type answer struct {
	data []byte
	sw   uint16
}

// exchangeAll sends cmds in order, batched when the transport can, and
// returns the data and status word of each (after GET RESPONSE and
// wrong-length retries, as Exchange), up to and including the first whose
// status word is not 90 00.
func exchangeAll(ctx context.Context, t Transport, cmds [][]byte) ([]answer, error) {
	bt, batch := t.(BatchTransport)
	out := make([]answer, 0, len(cmds))
	for len(out) < len(cmds) {
		rest := cmds[len(out):]
		if !batch || len(rest) == 1 {
			data, sw, err := Exchange(ctx, t, rest[0])
			if err != nil {
				return nil, err
			}
			out = append(out, answer{data, sw})
			if sw != SWOK {
				return out, nil
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		resps, err := bt.TransmitBatch(ctx, rest)
		if err != nil {
			return nil, err
		}
		if len(resps) == 0 || len(resps) > len(rest) {
			return nil, fmt.Errorf("%w: %d responses to %d commands", ErrCard, len(resps), len(rest))
		}
		for i, resp := range resps {
			data, sw, err := exchangeFrom(ctx, t, rest[i], resp)
			if err != nil {
				return nil, err
			}
			out = append(out, answer{data, sw})
			if sw != SWOK {
				return out, nil
			}
		}
	}
	return out, nil
}

// exchangeAll is exchangeAll on the session's card, with errors named as
// exchange names them.
func (s *Session) exchangeAll(ctx context.Context, name string, cmds [][]byte) ([]answer, error) {
	out, err := exchangeAll(ctx, s.card, cmds)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}
