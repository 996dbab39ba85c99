package main

// /lib/license/decode runs the first step of upstream's licence check (utils/license.go
// ValidateLicense) on the request body: base64.StdEncoding.Decode into a DecodedLen buffer, then
// trailing NUL bytes stripped, then the length test. It answers what came out, so the tests can
// compare the reference server's decoder byte for byte.

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
)

type licenseDecodeAnswer struct {
	Error      string `json:"error"`
	DecodedLen int    `json:"decoded_len"`
	Stripped   string `json:"stripped_hex"`
	LongEnough bool   `json:"long_enough"`
}

func init() {
	libHandlers["/lib/license/decode"] = func(w http.ResponseWriter, r *http.Request) {
		signed, _ := io.ReadAll(r.Body)
		ans := licenseDecodeAnswer{}
		decoded := make([]byte, base64.StdEncoding.DecodedLen(len(signed)))
		ans.DecodedLen = len(decoded)
		if _, err := base64.StdEncoding.Decode(decoded, signed); err != nil {
			ans.Error = err.Error()
		} else {
			for len(decoded) > 0 && decoded[len(decoded)-1] == 0 {
				decoded = decoded[:len(decoded)-1]
			}
			ans.Stripped = hex.EncodeToString(decoded)
			ans.LongEnough = len(decoded) > 256
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ans)
	}
}
