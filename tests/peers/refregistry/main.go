// Command refregistry serves go-containerregistry's registry (pkg/registry) with the OCI referrers API
// enabled: a real, spec-following OCI 1.1 registry that builds from the Go module proxy. The distribution
// project's registry (v3.0.0 and v3.1.x) has no referrers API, and zot is not served by the proxy here.
//
//	refregistry -addr 127.0.0.1:5000 [-disk DIR]
//
// Manifests live in memory, blobs in DIR when given. Every request is logged to stderr in the combined log
// format (method, path, status, size, user agent), like the distribution registry's access log. A manifest
// PUT with a `subject` is answered with the `OCI-Subject` header, as distribution-spec v1.1 asks.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

type recorder struct {
	http.ResponseWriter
	status  int
	size    int
	subject string // digest of the pushed manifest's subject, if any
}

func (r *recorder) WriteHeader(code int) {
	if r.subject != "" && code == http.StatusCreated {
		// distribution-spec v1.1: a registry that processes `subject` says so, and clients then skip the
		// referrers tag fallback (oras-go/notation rely on this header).
		r.Header().Set("OCI-Subject", r.subject)
	}
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.size += n
	return n, err
}

func main() {
	addr := flag.String("addr", "127.0.0.1:5000", "address to listen on")
	disk := flag.String("disk", "", "directory for blobs (default: memory)")
	flag.Parse()

	opts := []registry.Option{registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))}
	if *disk != "" {
		if err := os.MkdirAll(*disk, 0o755); err != nil {
			log.Fatal(err)
		}
		opts = append(opts, registry.WithBlobHandler(registry.NewDiskBlobHandler(*disk)))
	}
	reg := registry.New(opts...)
	access := log.New(os.Stderr, "", 0)
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := &recorder{ResponseWriter: w}
		if req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/manifests/") {
			body, err := io.ReadAll(io.LimitReader(req.Body, 4<<20))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
			var m struct {
				Subject *struct {
					Digest string `json:"digest"`
				} `json:"subject"`
			}
			if json.Unmarshal(body, &m) == nil && m.Subject != nil {
				rec.subject = m.Subject.Digest
			}
		}
		reg.ServeHTTP(rec, req)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		access.Printf("%s - - [%s] %q %d %d %q %q", req.RemoteAddr, time.Now().Format("02/Jan/2006:15:04:05 -0700"),
			fmt.Sprintf("%s %s %s", req.Method, req.URL.RequestURI(), req.Proto), rec.status, rec.size,
			req.Referer(), req.UserAgent())
	})
	srv := &http.Server{Addr: *addr, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("refregistry listening on %s (referrers API on)", *addr)
	log.Fatal(srv.ListenAndServe())
}
