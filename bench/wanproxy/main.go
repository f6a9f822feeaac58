// Command wanproxy is a delaying TCP proxy on 127.0.0.1 that makes a local registry look like one across a WAN
// (bench only). It is bench/wanproxy.py compiled: same command line, same delays, a fraction of the CPU, which
// matters because the proxy runs on the same cores as the client being measured.
//
// Every byte is held for half the round trip in each direction, so a request/response exchange costs one round
// trip (default 40 ms); the first bytes of each new connection wait --setup-rtts more round trips (default 1), as
// the TCP (and TLS) handshake would. Order and pipelining within a connection are kept; bandwidth is not limited.
//
//	wanproxy --rtt-ms 40 --map 0:127.0.0.1:5000 [--map 5601:127.0.0.1:5600 ...]
//
// Each --map LISTEN:HOST:PORT listens on 127.0.0.1:LISTEN (0: a free port) and forwards to HOST:PORT (which must
// be loopback). Prints one JSON line {"ports": [listen ports in --map order], ...} once listening, then runs until
// SIGTERM/SIGINT; --deadline-s (default 6 hours) bounds its life in any case.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const chunkSize = 65536

// queueLen bounds the chunks read but not yet released per direction; a full queue stops reading (backpressure).
const queueLen = 4096

var stats struct {
	connections, upBytes, downBytes atomic.Int64
}

type target struct {
	listen int
	addr   string
}

type mapFlag []target

func (m *mapFlag) String() string { return fmt.Sprint(*m) }

func (m *mapFlag) Set(v string) error {
	parts := strings.Split(v, ":")
	if len(parts) != 3 {
		return fmt.Errorf("want LISTEN:HOST:PORT, got %q", v)
	}
	listen, err := strconv.Atoi(parts[0])
	if err != nil || listen < 0 || listen > 65535 {
		return fmt.Errorf("bad listen port in %q", v)
	}
	port, err := strconv.Atoi(parts[2])
	if err != nil || port <= 0 || port > 65535 {
		return fmt.Errorf("bad target port in %q", v)
	}
	if parts[1] != "127.0.0.1" && parts[1] != "localhost" {
		return fmt.Errorf("--map target must be loopback, got %s", parts[1])
	}
	*m = append(*m, target{listen, net.JoinHostPort("127.0.0.1", parts[2])})
	return nil
}

// chunk is what one read returned, due for release at due; data == nil is the end of the stream.
type chunk struct {
	due  time.Time
	data []byte
}

// pump copies src -> dst, each chunk released delay after it arrived (never before notBefore), in order; the end of
// src (EOF, reset or any error) becomes a half-close of dst once the chunks before it are out.
func pump(src, dst *net.TCPConn, delay time.Duration, notBefore time.Time, counter *atomic.Int64) {
	queue := make(chan chunk, queueLen)
	go func() { // reader
		buf := make([]byte, chunkSize)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				arrived := time.Now()
				if arrived.Before(notBefore) {
					arrived = notBefore
				}
				queue <- chunk{arrived.Add(delay), append([]byte(nil), buf[:n]...)}
			}
			if err != nil {
				due := time.Now()
				if errors.Is(err, io.EOF) { // a clean end keeps its place in time; a reset ends the other side now
					if due.Before(notBefore) {
						due = notBefore
					}
					due = due.Add(delay)
				}
				queue <- chunk{due, nil}
				return
			}
		}
	}()
	failed := false
	for c := range queue { // writer
		if wait := time.Until(c.due); wait > 0 {
			time.Sleep(wait)
		}
		if c.data == nil {
			if !failed {
				_ = dst.CloseWrite()
			}
			return
		}
		if failed {
			continue // dst is gone: drain until the reader sees src end
		}
		if _, err := dst.Write(c.data); err != nil {
			failed = true
			_ = src.CloseRead() // stop reading what can no longer be delivered
			continue
		}
		counter.Add(int64(len(c.data)))
	}
}

func handle(client *net.TCPConn, addr string, rtt time.Duration, setupRTTs int) {
	opened := time.Now()
	stats.connections.Add(1)
	defer client.Close()
	conn, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return
	}
	upstream := conn.(*net.TCPConn)
	defer upstream.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		pump(client, upstream, rtt/2, opened.Add(time.Duration(setupRTTs)*rtt), &stats.upBytes)
	}()
	go func() {
		defer wg.Done()
		pump(upstream, client, rtt/2, time.Time{}, &stats.downBytes)
	}()
	wg.Wait()
}

func serve(ln *net.TCPListener, addr string, rtt time.Duration, setupRTTs int) {
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // e.g. out of file descriptors: retry, never spin
			continue
		}
		go handle(c, addr, rtt, setupRTTs)
	}
}

func main() {
	rttMs := flag.Float64("rtt-ms", 40, "round trip added, ms")
	setupRTTs := flag.Int("setup-rtts", 1, "extra round trips before the first bytes of each new connection")
	deadline := flag.Float64("deadline-s", 6*3600, "exit after this long regardless")
	var maps mapFlag
	flag.Var(&maps, "map", "LISTEN:HOST:PORT (repeatable; HOST must be loopback)")
	flag.Parse()
	if len(maps) == 0 || flag.NArg() > 0 || *rttMs < 0 || *setupRTTs < 0 || *deadline <= 0 {
		fmt.Fprintln(os.Stderr, "usage: wanproxy [--rtt-ms MS] [--setup-rtts N] [--deadline-s S] --map LISTEN:HOST:PORT ...")
		os.Exit(2)
	}
	rtt := time.Duration(*rttMs * float64(time.Millisecond))
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	var listeners []*net.TCPListener
	ports := []int{}
	for _, m := range maps {
		ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: m.listen})
		if err != nil {
			fmt.Fprintln(os.Stderr, "wanproxy:", err)
			os.Exit(1)
		}
		listeners = append(listeners, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for i, ln := range listeners {
		go serve(ln, maps[i].addr, rtt, *setupRTTs)
	}
	line, _ := json.Marshal(map[string]any{"ports": ports, "rtt_ms": *rttMs, "setup_rtts": *setupRTTs})
	fmt.Println(string(line)) // stdout is unbuffered: the parent reads this line as soon as it is written
	select {
	case <-stop:
	case <-time.After(time.Duration(*deadline * float64(time.Second))):
	}
	for _, ln := range listeners {
		ln.Close()
	}
	out, _ := json.Marshal(map[string]int64{
		"connections": stats.connections.Load(),
		"up_bytes":    stats.upBytes.Load(),
		"down_bytes":  stats.downBytes.Load(),
	})
	fmt.Fprintln(os.Stderr, string(out))
}
