package fiuu

import "testing"

// The vector of the signature page, recomputed by hand.
func TestSignatureVector(t *testing.T) {
	t.Parallel()
	body, err := decodeBody([]byte(`{
  "transType": "sale", "posId": "fiuuPos1", "merchantId": "fiuuMerch1",
  "deviceId": "fiuuDeviceId1", "referenceId": "fiuuPosRefId1", "referenceLabel": "Contrib ID",
  "apiVersion": "v1", "datetime": "20250115081928",
  "transData": {"transAmt": "1.00", "paymentMethod": "bankCard", "note": "This is a test note"}}`))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("75DC529B942513DFA77F43EC3451F137")
	const want = "e2c28c6eb6470e99ead904decf5a70e14f99c2a3f6f43597221557dc4614fc66"
	if got := Sign(body, secret); got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	body["signature"] = want
	if !Verify(body, secret, want) {
		t.Fatal("the signature field itself must not count")
	}
	body["transData"].(map[string]any)["note"] = "This is a test notf"
	if Verify(body, secret, want) {
		t.Fatal("a changed nested value kept the signature")
	}
}

func TestSignatureSkipsEmptyAndSortsLikeJavaScript(t *testing.T) {
	t.Parallel()
	secret := []byte("k")
	a := map[string]any{"a": "b", "b": "", "c": nil, "d": map[string]any{}}
	if Sign(a, secret) != Sign(map[string]any{"x": "b"}, secret) {
		t.Fatal("empty values must not count, and keys never do")
	}
	if compareUTF16("Z", "a") >= 0 || compareUTF16("1", "A") >= 0 {
		t.Fatal("digits before uppercase before lowercase")
	}
	// U+FF5E sorts after U+1F600 in UTF-16 (surrogates are 0xD800…) but
	// before it by code point.
	if compareUTF16("\U0001F600", "\uFF5E") >= 0 {
		t.Fatal("strings must compare by UTF-16 code units")
	}
	n, _ := decodeBody([]byte(`{"printCount": 2.0, "flag": true}`))
	if Sign(n, secret) != Sign(map[string]any{"p": "2", "f": "true"}, secret) {
		t.Fatal("numbers and booleans are their JavaScript text")
	}
}
