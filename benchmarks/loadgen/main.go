// Command loadgen calls RunFunction over gRPC as Crossplane does (a Go client), with requests
// serialized beforehand, so that the client costs little next to the servers it measures.
//
// Targets are NAME=ADDRESS=REQUEST_FILE. Each round visits every target in turn, so that a
// noisy neighbour on a shared machine hits all targets alike. Prints JSON on stdout.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const method = "/apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction"

// rawCodec sends the serialized request as is and keeps the response's bytes undecoded.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }

func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append((*(v.(*[]byte)))[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

type target struct {
	name  string
	addr  string
	req   []byte
	conns []*grpc.ClientConn
}

type result struct {
	LatencyUS []float64 `json:"latency_us,omitempty"`
	Warmup    int64     `json:"warmup_calls"`
	Calls     int64     `json:"calls,omitempty"`
	Seconds   float64   `json:"seconds,omitempty"`
	Errors    int64     `json:"errors"`
	FirstErr  string    `json:"first_error,omitempty"`
}

func main() {
	mode := flag.String("mode", "latency", "latency (sequential calls) or throughput (closed loop)")
	rounds := flag.Int("rounds", 5, "rounds over all targets")
	calls := flag.Int("n", 200, "latency: calls per target and round")
	warmup := flag.Int("warmup", 100, "calls per target before measuring")
	duration := flag.Duration("duration", time.Second, "throughput: time per target and round")
	conns := flag.Int("conns", 8, "throughput: connections per target")
	streams := flag.Int("streams", 1, "throughput: concurrent callers per connection")
	// One thread by default: on a small machine the client shares the cores with the servers
	// it measures, and more Go threads only add scheduler spinning and wake-ups (~20% of the
	// client's CPU per call, measured on 2 cores).
	procs := flag.Int("procs", 1, "threads running Go code (GOMAXPROCS)")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)

	var targets []*target
	for _, arg := range flag.Args() {
		parts := strings.SplitN(arg, "=", 3)
		if len(parts) != 3 {
			fail(fmt.Errorf("target %q: want NAME=ADDRESS=REQUEST_FILE", arg))
		}
		req, err := os.ReadFile(parts[2])
		if err != nil {
			fail(err)
		}
		t := &target{name: parts[0], addr: parts[1], req: req}
		n := 1
		if *mode == "throughput" {
			n = *conns
		}
		for range n {
			// One connection each: grpc-go would otherwise share one among clients.
			c, err := grpc.NewClient(t.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
			if err != nil {
				fail(err)
			}
			c.Connect()
			t.conns = append(t.conns, c)
		}
		targets = append(targets, t)
	}

	results := map[string]*result{}
	for _, t := range targets {
		r := &result{}
		results[t.name] = r
		for _, c := range t.conns {
			for range max(*warmup/len(t.conns), 1) {
				if err := call(c, t.req); err != nil {
					fail(fmt.Errorf("%s: warm-up call: %w", t.name, err))
				}
				r.Warmup++
			}
		}
	}
	for range *rounds {
		for _, t := range targets {
			r := results[t.name]
			if *mode == "throughput" {
				throughput(t, *duration, *streams, r)
			} else {
				latency(t, *calls, r)
			}
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		fail(err)
	}
}

func call(c *grpc.ClientConn, req []byte) error {
	var rsp []byte
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Invoke(ctx, method, &req, &rsp, grpc.WaitForReady(true))
}

func record(r *result, err error) {
	if err != nil {
		if r.Errors == 0 {
			r.FirstErr = err.Error()
		}
		r.Errors++
	}
}

func latency(t *target, n int, r *result) {
	for range n {
		start := time.Now()
		err := call(t.conns[0], t.req)
		r.LatencyUS = append(r.LatencyUS, float64(time.Since(start).Nanoseconds())/1e3)
		record(r, err)
	}
}

func throughput(t *target, d time.Duration, streams int, r *result) {
	var calls atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for _, c := range t.conns {
		for range streams {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					if err := call(c, t.req); err != nil {
						mu.Lock()
						record(r, err)
						mu.Unlock()
						continue
					}
					calls.Add(1)
				}
			})
		}
	}
	wg.Wait()
	r.Calls += calls.Load()
	r.Seconds += time.Since(start).Seconds()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(1)
}
