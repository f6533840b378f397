package fiuu

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Sign computes a cloudECR signature: every non-empty value of the body
// (nested objects included, the top-level "signature" excluded) as text,
// sorted as JavaScript sorts strings (UTF-16 code units), concatenated,
// HMAC-SHA256 with the secret's text as key, lowercase hex.
func Sign(body map[string]any, secret []byte) string {
	var values []string
	for k, v := range body {
		if k == "signature" {
			continue
		}
		values = appendValues(values, v)
	}
	slices.SortFunc(values, compareUTF16)
	m := hmac.New(sha256.New, secret)
	for _, v := range values {
		m.Write([]byte(v))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature in constant time (hex case ignored).
func Verify(body map[string]any, secret []byte, signature string) bool {
	want := Sign(body, secret)
	return hmac.Equal([]byte(want), []byte(strings.ToLower(signature)))
}

func appendValues(out []string, v any) []string {
	switch x := v.(type) {
	case nil:
		return out
	case map[string]any:
		for _, n := range x {
			out = appendValues(out, n)
		}
		return out
	case []any:
		for _, n := range x {
			out = appendValues(out, n)
		}
		return out
	case string:
		if x == "" {
			return out
		}
		return append(out, x)
	case bool:
		return append(out, strconv.FormatBool(x))
	case json.Number:
		return append(out, jsNumber(x))
	case float64:
		return append(out, jsFloat(x))
	case int:
		return append(out, strconv.Itoa(x))
	case int64:
		return append(out, strconv.FormatInt(x, 10))
	default:
		return append(out, fmt.Sprint(x))
	}
}

// jsNumber writes a JSON number the way JavaScript's String() would after
// JSON.parse: 2.0 → "2", 1e2 → "100".
func jsNumber(n json.Number) string {
	f, err := n.Float64()
	if err != nil {
		return n.String()
	}
	return jsFloat(f)
}

func jsFloat(f float64) string {
	if math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func compareUTF16(a, b string) int {
	ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	return slices.Compare(ua, ub)
}

// decodeBody reads a JSON object keeping numbers as written.
func decodeBody(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("body is not a JSON object")
	}
	if d.More() {
		return nil, fmt.Errorf("body holds more than one JSON value")
	}
	return m, nil
}
