// etcd_load drives one etcd member with the Trader benchmark's durable-export
// workload: CLIENTS concurrent clients (one gRPC connection each), each
// putting a ~100-byte value under its own lease and waiting for every
// acknowledgement. Output: one JSON line like rex_bench's.
//
// Built by bench/trader_compare.py against Debian's etcd client library:
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"go.etcd.io/etcd/clientv3"
)

func main() {
	endpoint := flag.String("endpoint", "127.0.0.1:2379", "etcd client URL host:port")
	clients := flag.Int("clients", 16, "concurrent clients")
	seconds := flag.Float64("seconds", 10, "duration")
	ttl := flag.Int64("lease-ttl", 3600, "lease TTL, seconds")
	cacert := flag.String("cacert", "", "TLS: verify etcd against this CA (PEM); empty: plaintext")
	flag.Parse()
	var tlsConfig *tls.Config
	if *cacert != "" {
		pem, err := os.ReadFile(*cacert)
		if err != nil {
			fmt.Fprintln(os.Stderr, "etcd_load:", err)
			os.Exit(2)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tlsConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}
	}

	var wg sync.WaitGroup
	lat := make([][]float64, *clients)
	start := time.Now()
	stop := start.Add(time.Duration(*seconds * float64(time.Second)))
	for i := 0; i < *clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := clientv3.New(clientv3.Config{Endpoints: []string{*endpoint}, DialTimeout: 5 * time.Second, TLS: tlsConfig})
			if err != nil {
				fmt.Fprintln(os.Stderr, "etcd_load:", err)
				os.Exit(3)
			}
			defer c.Close()
			lease, err := c.Grant(context.Background(), *ttl)
			if err != nil {
				fmt.Fprintln(os.Stderr, "etcd_load: grant:", err)
				os.Exit(1)
			}
			for n := 0; time.Now().Before(stop); n++ {
				key := fmt.Sprintf("/bench_printer/%d/%d", i, n)
				value := fmt.Sprintf(`{"ppm":%d,"serial":%d,"location":"cam-%d room %d","colour":%t}`,
					n%100, n, n%6, n%997, n%3 == 0)
				t0 := time.Now()
				if _, err := c.Put(context.Background(), key, value, clientv3.WithLease(lease.ID)); err != nil {
					fmt.Fprintln(os.Stderr, "etcd_load: put:", err)
					os.Exit(1)
				}
				lat[i] = append(lat[i], float64(time.Since(t0).Microseconds())/1000)
			}
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	var all []float64
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Float64s(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		k := int(p * float64(len(all)))
		if k >= len(all) {
			k = len(all) - 1
		}
		return all[k]
	}
	out, _ := json.Marshal(map[string]interface{}{
		"ops": len(all), "seconds": elapsed, "per_second": float64(len(all)) / elapsed,
		"p50_ms": pct(0.5), "p99_ms": pct(0.99),
	})
	fmt.Println(string(out))
}
