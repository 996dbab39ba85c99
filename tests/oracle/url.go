package main

// /lib/url/pathescape answers url.PathEscape of the request body, the escaping upstream's
// setHeaders (server/platform/shared/web/files.go) applies to a file name in
// Content-Disposition, so the suite's expectation can be compared byte for byte.

import (
	"io"
	"net/http"
	"net/url"
)

func init() {
	libHandlers["/lib/url/pathescape"] = func(w http.ResponseWriter, r *http.Request) {
		name, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, url.PathEscape(string(name)))
	}
}
