package main

// /lib/upload makes the library calls upstream's POST /api/v4/files handlers make
// (api4/file.go uploadFileStream, uploadFileSimple, uploadFileMultipart,
// uploadFileMultipartLegacy), in the same order, and answers JSON with what the libraries
// returned and the status the handler logic derives from it. It stores nothing and checks no
// permission: a channel id is checked for shape only (model.IsValidId), which is all the
// differential tests need since they upload as a member of the channel.
//
// MaxFileSize comes from the X-Oracle-Max-File-Size header (default 100 MiB), because a query
// parameter would show up in r.Form.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"unicode"
)

const formValueCap = 10 * 1024 // the io.CopyN limit upstream reads form values with

type oracleFile struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

type oraclePart struct {
	FormName string `json:"form_name"`
	FileName string `json:"file_name"`
	Value    string `json:"value"`
	Length   int64  `json:"length"`
}

type uploadAnswer struct {
	Status        int                 `json:"status"`
	ID            string              `json:"id"`
	Detail        string              `json:"detail"`
	ContentLength int64               `json:"content_length"`
	Mode          string              `json:"mode"`
	Form          map[string][]string `json:"form"`
	Parts         []oraclePart        `json:"parts"`
	Files         []oracleFile        `json:"files"`
	ClientIDs     []string            `json:"client_ids"`
}

func (a *uploadAnswer) fail(status int, id string, detail string) {
	a.Status, a.ID, a.Detail = status, id, detail
}

// readFailure is how a read error ends: a *http.MaxBytesError that reaches the context error
// wrapped becomes 413 (web/handlers.go handleContextError); others are the caller's choice.
func isMaxBytes(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func validID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) {
			return false
		}
	}
	return true
}

func init() {
	libHandlers["/lib/upload"] = func(w http.ResponseWriter, r *http.Request) {
		maxSize := int64(104857600)
		if h := r.Header.Get("X-Oracle-Max-File-Size"); h != "" {
			maxSize, _ = strconv.ParseInt(h, 10, 64)
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxSize+bytes.MinRead)
		ans := &uploadAnswer{ContentLength: r.ContentLength, Parts: []oraclePart{}, Files: []oracleFile{}}
		uploadStream(r, ans, maxSize)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ans)
	}
}

func uploadStream(r *http.Request, ans *uploadAnswer, maxSize int64) {
	if err := r.ParseForm(); err != nil {
		ans.fail(400, "api.file.upload_file.read_request.app_error", err.Error())
		return
	}
	ans.Form = r.Form
	if r.ContentLength == 0 {
		ans.fail(400, "api.file.upload_file.read_request.app_error", "Content-Length should not be 0")
		return
	}
	boundary, err := multipartBoundary(r)
	switch err {
	case nil:
		channelID := r.URL.Query().Get("channel_id")
		var buf bytes.Buffer
		ans.Mode = "buffered"
		uploadParts(r, ans, maxSize, channelID, boundary, io.TeeReader(r.Body, &buf), &buf)
	case http.ErrNotMultipart:
		ans.Mode = "simple"
		uploadSimple(r, ans, maxSize)
	default:
		ans.fail(400, "api.file.upload_file.read_request.app_error", err.Error())
	}
}

func multipartBoundary(r *http.Request) (string, error) {
	v := r.Header.Get("Content-Type")
	if v == "" {
		return "", http.ErrNotMultipart
	}
	d, params, err := mime.ParseMediaType(v)
	if err != nil || d != "multipart/form-data" {
		return "", http.ErrNotMultipart
	}
	boundary, ok := params["boundary"]
	if !ok {
		return "", http.ErrMissingBoundary
	}
	return boundary, nil
}

func uploadSimple(r *http.Request, ans *uploadAnswer, maxSize int64) {
	query := r.URL.Query()
	if !validID(query.Get("channel_id")) {
		ans.fail(400, "api.context.invalid_url_param.app_error", "channel_id")
		return
	}
	if query.Get("filename") == "" {
		ans.fail(400, "api.context.invalid_url_param.app_error", "filename")
		return
	}
	clientID := r.Form.Get("client_id")
	if !storeFile(ans, filepath.Base(query.Get("filename")), r.Body, r.ContentLength, maxSize) {
		return
	}
	if clientID != "" {
		ans.ClientIDs = []string{clientID}
	}
	ans.Status = 201
}

// storeFile reads one file the way app.UploadFileX bounds it: at most its Content-Length (or
// MaxFileSize when unknown) plus one byte, then more than MaxFileSize is 413.
func storeFile(ans *uploadAnswer, name string, body io.Reader, length, maxSize int64) bool {
	if length > maxSize {
		ans.fail(413, "api.file.upload_file.too_large_detailed.app_error", "")
		return false
	}
	limit := maxSize
	if length > 0 {
		limit = length
	}
	written, err := io.Copy(io.Discard, io.LimitReader(body, limit+1))
	if err != nil {
		if isMaxBytes(err) {
			ans.fail(413, "api.context.request_body_too_large.app_error", err.Error())
		} else {
			ans.fail(500, "api.file.write_file.app_error", err.Error())
		}
		return false
	}
	if written > maxSize {
		ans.fail(413, "api.file.upload_file.too_large_detailed.app_error", "")
		return false
	}
	ans.Files = append(ans.Files, oracleFile{name, written})
	return true
}

// uploadParts walks the parts once. The first walk (buffered, everything read is kept in buf)
// stops at the first channel_id part, to walk again from the start in streaming mode, or at a
// file part seen before any channel id, to hand the whole body to ReadForm (legacy mode).
func uploadParts(r *http.Request, ans *uploadAnswer, maxSize int64, channelID, boundary string,
	body io.Reader, buf *bytes.Buffer) {
	streaming := buf == nil
	mr := multipart.NewReader(body, boundary)
	var clientIDs []string
	expectIDs := true
	ans.Parts, ans.Files, ans.ClientIDs = []oraclePart{}, []oracleFile{}, []string{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			ans.fail(400, "api.file.upload_file.read_request.app_error", err.Error())
			return
		}
		seen := oraclePart{FormName: part.FormName(), FileName: part.FileName()}
		if seen.FormName == "" {
			ans.Parts = append(ans.Parts, seen)
			continue
		}
		if seen.FileName == "" {
			var value bytes.Buffer
			n, err := io.CopyN(&value, part, formValueCap)
			seen.Value, seen.Length = value.String(), n
			ans.Parts = append(ans.Parts, seen)
			if err != nil && err != io.EOF {
				ans.fail(400, "api.file.upload_file.read_form_value.app_error", err.Error())
				return
			}
			switch seen.FormName {
			case "channel_id":
				if channelID != "" && channelID != seen.Value {
					ans.fail(400, "api.file.upload_file.multiple_channel_ids.app_error", "")
					return
				}
				if seen.Value != "" {
					channelID = seen.Value
				}
				if !streaming {
					ans.Mode = "stream"
					uploadParts(r, ans, maxSize, channelID, boundary, io.MultiReader(buf, r.Body), nil)
					return
				}
			case "client_ids":
				if !expectIDs {
					ans.fail(400, "api.context.invalid_body_param.app_error", "client_ids")
					return
				}
				clientIDs = append(clientIDs, seen.Value)
			default:
				ans.fail(400, "api.context.invalid_body_param.app_error", seen.FormName)
				return
			}
			continue
		}
		if channelID == "" && !streaming {
			ans.Mode = "legacy"
			uploadLegacy(ans, maxSize, multipart.NewReader(io.MultiReader(buf, r.Body), boundary))
			return
		}
		ans.Parts = append(ans.Parts, seen)
		if !validID(channelID) {
			ans.fail(400, "api.context.invalid_url_param.app_error", "channel_id")
			return
		}
		if len(ans.Files) == 0 && len(clientIDs) == 0 {
			expectIDs = false
		}
		if expectIDs && len(ans.Files) >= len(clientIDs) {
			ans.fail(400, "api.context.invalid_body_param.app_error", "client_ids")
			return
		}
		if !storeFile(ans, seen.FileName, part, -1, maxSize) {
			return
		}
		ans.Parts[len(ans.Parts)-1].Length = ans.Files[len(ans.Files)-1].Size
		if expectIDs {
			ans.ClientIDs = append(ans.ClientIDs, clientIDs[len(ans.Files)-1])
		}
	}
	if expectIDs && len(clientIDs) != len(ans.Files) {
		ans.fail(400, "api.file.upload_file.incorrect_number_of_client_ids.app_error", "")
		return
	}
	ans.Status = 201
}

func uploadLegacy(ans *uploadAnswer, maxSize int64, mr *multipart.Reader) {
	ans.Parts = []oraclePart{}
	form, err := mr.ReadForm(maxSize)
	if err != nil {
		ans.fail(500, "api.file.upload_file.read_request.app_error", err.Error())
		return
	}
	defer func() { _ = form.RemoveAll() }()
	names := make([]string, 0, len(form.Value))
	for name := range form.Value {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, v := range form.Value[name] {
			ans.Parts = append(ans.Parts, oraclePart{FormName: name, Value: v, Length: int64(len(v))})
		}
	}
	if len(form.Value["channel_id"]) == 0 {
		ans.fail(400, "api.context.invalid_body_param.app_error", "channel_id")
		return
	}
	if !validID(form.Value["channel_id"][0]) {
		ans.fail(400, "api.context.invalid_url_param.app_error", "channel_id")
		return
	}
	clientIDs, headers := form.Value["client_ids"], form.File["files"]
	if len(clientIDs) != 0 && len(clientIDs) != len(headers) {
		ans.fail(400, "api.file.upload_file.incorrect_number_of_client_ids.app_error", "")
		return
	}
	for i, fh := range headers {
		f, err := fh.Open()
		if err != nil {
			ans.fail(400, "api.file.upload_file.read_request.app_error", err.Error())
			return
		}
		ok := storeFile(ans, filepath.Base(fh.Filename), f, -1, maxSize)
		_ = f.Close()
		if !ok {
			return
		}
		if len(clientIDs) > 0 && clientIDs[i] != "" {
			ans.ClientIDs = append(ans.ClientIDs, clientIDs[i])
		}
	}
	ans.Status = 201
}
