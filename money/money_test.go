package money

import (
	"strconv"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		code string
		want bool
	}{
		{"USD", true}, {"JPY", true}, {"KWD", true}, {"usd", false}, {"XYZ", false},
		{"US", false}, {"USDD", false}, {"", false}, {" USD", false},
	} {
		if got := Valid(c.code); got != c.want {
			t.Errorf("Valid(%q) = %v, want %v", c.code, got, c.want)
		}
	}
}

func TestExponent(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		code string
		want int
		ok   bool
	}{
		{"USD", 2, true}, {"eur", 2, true}, {"JPY", 0, true}, {"KWD", 3, true}, {"BHD", 3, true},
		{"CLF", 4, true}, {"XYZ", 0, false}, {"", 0, false}, {"840", 0, false},
	} {
		got, ok := Exponent(c.code)
		if got != c.want || ok != c.ok {
			t.Errorf("Exponent(%q) = %d, %v; want %d, %v", c.code, got, ok, c.want, c.ok)
		}
	}
}

func TestNumeric(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		code string
		want string
		ok   bool
	}{
		{"USD", "840", true}, {"usd", "840", true}, {" MYR ", "458", true}, {"EUR", "978", true},
		{"JPY", "392", true}, {"KWD", "414", true}, {"036", "036", true}, {"999", "999", true},
		{"XXZ", "", false}, {"DEM", "", false}, {"US", "", false}, {"", "", false}, {"84", "", false},
	} {
		got, err := Numeric(c.code)
		if got != c.want || (err == nil) != c.ok {
			t.Errorf("Numeric(%q) = %q, %v; want %q (ok %v)", c.code, got, err, c.want, c.ok)
		}
	}
}

func TestAlpha(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		numeric string
		want    string
		ok      bool
	}{
		{"840", "USD", true}, {"978", "EUR", true}, {"458", "MYR", true}, {"392", "JPY", true},
		{"999", "", false}, {"84", "", false}, {"USD", "", false}, {"", "", false},
	} {
		got, ok := Alpha(c.numeric)
		if got != c.want || ok != c.ok {
			t.Errorf("Alpha(%q) = %q, %v; want %q, %v", c.numeric, got, ok, c.want, c.ok)
		}
	}
}

// TestTableIsOneToOne checks every pair of the table both ways, and that
// every alphabetic code in it is one ISO 4217 knows.
func TestTableIsOneToOne(t *testing.T) {
	t.Parallel()
	if len(numerics)%6 != 0 {
		t.Fatalf("table length %d is not a multiple of 6", len(numerics))
	}
	for i := 0; i < len(numerics); i += 6 {
		alpha, num := numerics[i:i+3], numerics[i+3:i+6]
		if !Valid(alpha) || !isDigits(num) {
			t.Errorf("pair %s%s", alpha, num)
		}
		if n, err := Numeric(alpha); err != nil || n != num {
			t.Errorf("Numeric(%s) = %s, %v; want %s", alpha, n, err, num)
		}
		if a, ok := Alpha(num); !ok || a != alpha {
			t.Errorf("Alpha(%s) = %s, %v; want %s", num, a, ok, alpha)
		}
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		minor int64
		code  string
		want  string
	}{
		{2500, "USD", "25.00"}, {5, "USD", "0.05"}, {0, "USD", "0.00"}, {-150, "EUR", "-1.50"},
		{-5, "EUR", "-0.05"}, {2500, "JPY", "2500"}, {-500, "JPY", "-500"}, {2500, "KWD", "2.500"},
		{100, "BHD", "0.100"}, {1234, "usd", "12.34"}, {1234, "XYZ", "12.34"}, {1234, "", "12.34"},
		{-9223372036854775808, "USD", "-92233720368547758.08"},
	} {
		if got := Format(c.minor, c.code); got != c.want {
			t.Errorf("Format(%d, %q) = %q, want %q", c.minor, c.code, got, c.want)
		}
	}
}

// FuzzFormat checks that Format's text reads back as the same number of
// minor units with the currency's decimals.
func FuzzFormat(f *testing.F) {
	for _, s := range []struct {
		minor int64
		code  string
	}{{2500, "USD"}, {-5, "EUR"}, {7, "JPY"}, {1234, "KWD"}, {0, ""}, {-9223372036854775808, "CLF"}} {
		f.Add(s.minor, s.code)
	}
	f.Fuzz(func(t *testing.T, minor int64, code string) {
		text := Format(minor, code)
		exp, ok := Exponent(code)
		if !ok {
			exp = defaultExponent
		}
		digits := text
		if exp > 0 {
			dot := strings.IndexByte(text, '.')
			if dot < 0 || len(text)-dot-1 != exp {
				t.Fatalf("Format(%d, %q) = %q: want %d decimals", minor, code, text, exp)
			}
			digits = text[:dot] + text[dot+1:]
		} else if strings.Contains(text, ".") {
			t.Fatalf("Format(%d, %q) = %q: want no decimals", minor, code, text)
		}
		back, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || back != minor {
			t.Fatalf("Format(%d, %q) = %q reads back as %d, %v", minor, code, text, back, err)
		}
	})
}
