package pan

import "testing"

func TestMask(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"4242424242424242", "************4242"},
		{"4000000000009995", "************9995"},
		{"378282246310005", "***********0005"},
		{"6759649826438453123", "***************3123"},
		{"12345", "*2345"},
		{"1234", "****"},
		{"12", "**"},
		{"", ""},
		{"4761=7390", "*****7390"},
	} {
		if got := Mask(c.in); got != c.want {
			t.Errorf("Mask(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestValid(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"4242424242424242", true},
		{"4111111111111111", true},
		{"378282246310005", true},
		{"5105105105105100", true},
		{"6759649826438453", true},
		{"4000000000000003", false}, // check digit
		{"4242424242424241", false},
		{"4111111111111112", false},
		{"42424242", false},             // too short
		{"00000000000", false},          // 11 digits
		{"000000000000", true},          // 12 digits
		{"0000000000000000000", true},   // 19 digits
		{"00000000000000000000", false}, // 20 digits
		{"4242x24242424242", false},
		{"4242 4242 4242 4242", false},
		{"", false},
	} {
		if got := Valid(c.in); got != c.want {
			t.Errorf("Valid(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestScheme(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"4242424242424242", "visa"},
		{"5555555555554444", "mastercard"},
		{"2223003122003222", "mastercard"},
		{"2720990000000007", "mastercard"},
		{"378282246310005", "amex"},
		{"341111111111111", "amex"},
		{"6011111111111117", "discover"},
		{"6500000000000002", "discover"},
		{"6440000000000000", "discover"},
		{"3566002020360505", "jcb"},
		{"3530111333300000", "jcb"},
		{"6200000000000005", "unionpay"},
		{"8100000000000000", "unionpay"},
		{"6759649826438453", "maestro"},
		{"5018000000000009", "maestro"},
		{"9999999999999995", "unknown"},
		{"x242424242424242", "unknown"},
		{"", "unknown"},
	} {
		if got := Scheme(c.in); got != c.want {
			t.Errorf("Scheme(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
