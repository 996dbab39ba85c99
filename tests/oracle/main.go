// Command oracle answers HTTP requests with what Go's net/http, mime/multipart and gorilla/mux
// make of them, the way upstream Mattermost's handlers call those libraries. It is an oracle for
// library semantics, not a second server: the differential tests in this folder send the same
// edge-case request here and to the reference server and compare the parts that matter.
//
// Usage: oracle [-addr 127.0.0.1:0]. It prints "LISTENING <host:port>" once it accepts requests.
//
// Two kinds of handlers are registered by the other files of this package from init():
//   - mmRoutes: functions that add routes to the router shaped like upstream's (paths outside
//     /lib/); see routing.go.
//   - libHandlers: plain handlers under /lib/ that run one library call and report its result as
//     JSON (e.g. how a multipart body parses); see the files named after the library they probe.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"

	"github.com/gorilla/mux"
)

// mmRoutes add routes to the Mattermost-shaped router, in the order of their names (init order
// across files is not something to depend on).
var mmRoutes = map[string]func(root *mux.Router){}

// libHandlers maps a path under /lib/ to the handler that probes one library behaviour.
var libHandlers = map[string]http.HandlerFunc{}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on (loopback only)")
	flag.Parse()

	root := mux.NewRouter()
	names := make([]string, 0, len(mmRoutes))
	for name := range mmRoutes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		mmRoutes[name](root)
	}

	top := http.NewServeMux()
	for path, handler := range libHandlers {
		top.Handle(path, handler)
	}
	// Only /lib/ goes through ServeMux: ServeMux redirects unclean paths (// and /../) itself,
	// which would hide what gorilla's own path cleaning does with them.
	dispatch := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/lib/") {
			top.ServeHTTP(w, r)
			return
		}
		root.ServeHTTP(w, r)
	})

	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stdout, "LISTENING %s\n", listener.Addr())
	log.Fatal(http.Serve(listener, dispatch))
}
