package main

// /lib/mime/parse answers what mime.ParseMediaType makes of the request body (one header
// value): upstream's upload handler decides the mode from it (Content-Type) and, through
// multipart.Part.FormName/FileName, whether a part is a file (Content-Disposition).

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
)

type mediaTypeAnswer struct {
	MediaType string            `json:"media_type"`
	Params    map[string]string `json:"params"`
	Error     string            `json:"error"`
}

func init() {
	libHandlers["/lib/mime/parse"] = func(w http.ResponseWriter, r *http.Request) {
		value, _ := io.ReadAll(r.Body)
		ans := mediaTypeAnswer{}
		media, params, err := mime.ParseMediaType(string(value))
		if err != nil {
			ans.Error = err.Error()
		} else {
			ans.MediaType, ans.Params = media, params
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ans)
	}
}
