// goserver: a Go net/http server for elfin's tests reached from the host.
//
// goserver PORT N: serves HTTP on :PORT until it has answered N requests, then
// shuts down and prints a summary. GET /hello answers "hello from go"; POST /echo
// answers the body with its SHA-256. Prints "listening" once it accepts
// connections, then one line per request in the order they were answered.
package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: goserver PORT N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "N must be a number")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", ":"+os.Args[1])
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	served := 0
	done := make(chan struct{})
	mux := http.NewServeMux()
	count := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		served++
		fmt.Println(line)
		if served == n {
			close(done)
		}
	}
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from go\n")
		count("GET /hello")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		sum := sha256.Sum256(body)
		fmt.Fprintf(w, "%d %x\n", len(body), sum)
		count(fmt.Sprintf("POST /echo %d bytes", len(body)))
	})
	srv := &http.Server{Handler: mux}
	fmt.Println("listening")
	// Serve returns as soon as Shutdown starts; Shutdown returns once the last
	// answer has gone out, and only then may the program end.
	shut := make(chan struct{})
	go func() {
		<-done
		srv.Shutdown(context.Background())
		close(shut)
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		fmt.Println("serve:", err)
		os.Exit(1)
	}
	<-shut
	fmt.Printf("served %d requests\n", n)
}
