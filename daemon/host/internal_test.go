package host

import "testing"

func TestSixDigitsWraps(t *testing.T) {
	t.Parallel()
	for n, want := range map[uint32]string{1: "000001", 42: "000042", 999999: "999999", 1000000: "000001",
		0: "999999", 4294967295: sixDigitsRef(4294967295)} {
		if got := sixDigits(n); got != want {
			t.Errorf("sixDigits(%d) = %s, want %s", n, got, want)
		}
	}
}

func sixDigitsRef(n uint64) string {
	v := (n-1)%999999 + 1
	s := "000000" + itoa(v)
	return s[len(s)-6:]
}

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for ; v > 0; v /= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
	}
	return string(b)
}
