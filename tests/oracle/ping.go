package main

import (
	"encoding/json"
	"net/http"
	"runtime"
)

// /lib/ping tells the tests which Go answers, so a report can name the library versions.
func init() {
	libHandlers["/lib/ping"] = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"go": runtime.Version()})
	}
}
