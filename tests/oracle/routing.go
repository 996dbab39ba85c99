package main

// A router shaped like upstream's for the routes mmconform covers (api4/api.go Init,
// api4/file.go InitFile, api4/post.go, api4/license.go, web/static.go InitStatic), built with the
// same gorilla/mux calls in the same order: subrouters from PathPrefix, the /api/v4 catch-all
// registered after every API route as a plain handler, then the webapp's GET catch-all.
// Each handler answers JSON naming the route it matched and its vars, so a test can see which
// route gorilla chose; gorilla's own 404/405 and path-cleaning redirects are left as they are.

import (
	"encoding/json"
	"net/http"

	"github.com/gorilla/mux"
)

func named(route string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Oracle-Route", route) // HEAD answers have no body to read it from
		_ = json.NewEncoder(w).Encode(map[string]interface{}{
			"route":  route,
			"vars":   mux.Vars(r),
			"method": r.Method,
			"path":   r.URL.Path,
		})
	})
}

// ModeHeader picks the server shape: "disabled" is WebserverMode "disabled" (InitStatic registers
// nothing); anything else is the default webserver. The two trees exclude each other through a
// header matcher, which fails like a path mismatch, so it never records a method mismatch.
const ModeHeader = "X-Oracle-Webserver"

func init() {
	mmRoutes["10-mattermost"] = func(root *mux.Router) {
		disabled := func(r *http.Request, _ *mux.RouteMatch) bool { return r.Header.Get(ModeHeader) == "disabled" }
		enabled := func(r *http.Request, m *mux.RouteMatch) bool { return !disabled(r, m) }
		mattermostTree(root.MatcherFunc(enabled).Subrouter(), true)
		mattermostTree(root.MatcherFunc(disabled).Subrouter(), false)
	}
}

func mattermostTree(top *mux.Router, webapp bool) {
	// app/server.go NewServer: Router = RootRouter.PathPrefix(subpath).Subrouter(), subpath "/".
	router := top.PathPrefix("/").Subrouter()
	apiRoot := router.PathPrefix("/api/v4").Subrouter()
	files := apiRoot.PathPrefix("/files").Subrouter()
	file := files.PathPrefix("/{file_id:[A-Za-z0-9]+}").Subrouter()
	posts := apiRoot.PathPrefix("/posts").Subrouter()
	post := posts.PathPrefix("/{post_id:[A-Za-z0-9]+}").Subrouter()
	publicFile := router.PathPrefix("/files/{file_id:[A-Za-z0-9]+}/public").Subrouter()

	post.Handle("/files/info", named("GetFileInfosForPost")).Methods("GET")
	files.Handle("", named("UploadFile")).Methods("POST")
	// Newest file.go registers GET and HEAD (P7); @8d9eda11 registered GET only.
	file.Handle("", named("GetFile")).Methods("GET", "HEAD")
	file.Handle("/info", named("GetFileInfo")).Methods("GET")
	file.Handle("/link", named("GetFileLink")).Methods("GET")
	publicFile.Handle("", named("GetFilePublic")).Methods("GET", "HEAD")
	apiRoot.Handle("/license", named("UploadLicenseFile")).Methods("POST")
	apiRoot.Handle("/license", named("RemoveLicenseFile")).Methods("DELETE")

	// api4/api.go Init, after every Init*: a plain HandlerFunc, any method.
	router.Handle("/api/v4/{anything:.*}", named("api4-catch-all"))
	if webapp {
		// web/static.go InitStatic: GET only; web.New runs after api4.Init.
		router.Handle("/{anything:.*}", named("webapp-static")).Methods("GET")
	}
}
