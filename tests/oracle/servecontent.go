package main

// /lib/servecontent answers like web.WriteFileResponse (platform/shared/web/files.go): the
// file headers are set first (Cache-Control, nosniff, Content-Type, Content-Disposition, frame
// headers, Content-Length), no ETag, then http.ServeContent with the file's modification time.
// The content is fixed; ?mtime=<unix seconds> sets the modification time (default fixed) so a
// test can line it up with the reference server's update_at.

import (
	"bytes"
	"net/http"
	"strconv"
	"time"
)

// ServeContentBody is the probe's file: 26 bytes, like the tests' uploads.
const ServeContentBody = "abcdefghijklmnopqrstuvwxyz"

func init() {
	libHandlers["/lib/servecontent"] = func(w http.ResponseWriter, r *http.Request) {
		mtime := time.Unix(1700000000, 0)
		if s := r.URL.Query().Get("mtime"); s != "" {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				mtime = time.Unix(n, 0)
			}
		}
		h := w.Header()
		h.Set("Cache-Control", "private, max-age=86400")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Type", "text/plain; charset=utf-8") // mime.TypeByExtension(".txt"), as stored
		h.Set("Content-Disposition", "attachment;filename=\"a.txt\"; filename*=UTF-8''a.txt")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "Frame-ancestors 'none'")
		h.Set("Content-Length", strconv.Itoa(len(ServeContentBody)))
		http.ServeContent(w, r, "a.txt", mtime, bytes.NewReader([]byte(ServeContentBody)))
	}
	// /lib/parsebool?v=...: strconv.ParseBool, the parser behind c.Params (web/params.go).
	libHandlers["/lib/parsebool"] = func(w http.ResponseWriter, r *http.Request) {
		v, err := strconv.ParseBool(r.URL.Query().Get("v"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"value":` + strconv.FormatBool(v) + `,"ok":` + strconv.FormatBool(err == nil) + "}\n"))
	}
}
