// goprobe exercises the Go runtime inside elfin: goroutines on several threads,
// channels, a mutex, timers, maps, the environment and arguments. Its output is
// deterministic so that it can be compared with the native run.
//
//	goprobe [fail]   the default run (exit status 3 with `fail`)
//	goprobe sync     many goroutines at GOMAXPROCS = the CPU count: channels,
//	                 WaitGroup, Mutex, RWMutex, Cond, atomics, timers
//	goprobe cpus     what the runtime sees: NumCPU and GOMAXPROCS
//	goprobe ifaces   the loopback interface as net.Interfaces (netlink) shows it
//	goprobe relay    16 MiB from a writer goroutine (4 KiB writes) through
//	                 io.Copy (splice) and io.CopyBuffer (64 KiB) between two
//	                 loopback TCP connections to a reader goroutine
package main

import (
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "sync" {
		syncMode()
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "relay" {
		relay("splice", func(dst, src net.Conn) (int64, error) { return io.Copy(dst, src) })
		relay("copy", func(dst, src net.Conn) (int64, error) {
			// Hidden behind plain interfaces, io.CopyBuffer cannot splice.
			return io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, make([]byte, 64<<10))
		})
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "ifaces" {
		ifaces()
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "cpus" {
		fmt.Println("cpus:", runtime.NumCPU(), "gomaxprocs:", runtime.GOMAXPROCS(0))
		return
	}
	fmt.Println("args:", strings.Join(os.Args[1:], ","))
	env := os.Environ()
	sort.Strings(env)
	fmt.Println("env:", strings.Join(env, ";"))

	// Work spread over goroutines, joined with a WaitGroup.
	var wg sync.WaitGroup
	results := make([]int, 16)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := 0
			for j := 0; j < 200000; j++ {
				s += j % (i + 1)
			}
			results[i] = s
		}(i)
	}
	wg.Wait()
	fmt.Println("sums:", results)

	// A pipeline of channels.
	in := make(chan int)
	out := make(chan int)
	go func() {
		for v := range in {
			out <- v * v
		}
		close(out)
	}()
	go func() {
		for i := 1; i <= 100; i++ {
			in <- i
		}
		close(in)
	}()
	total := 0
	for v := range out {
		total += v
	}
	fmt.Println("squares:", total)

	// A contended mutex.
	var mu sync.Mutex
	counter := 0
	var wg2 sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			for j := 0; j < 10000; j++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
		}()
	}
	wg2.Wait()
	fmt.Println("counter:", counter)

	// Timers and sleeping.
	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	select {
	case <-time.After(10 * time.Millisecond):
	}
	fmt.Println("slept enough:", time.Since(start) >= 30*time.Millisecond)

	// Garbage: many short-lived allocations.
	m := map[string][]byte{}
	for i := 0; i < 20000; i++ {
		m[fmt.Sprint(i%500)] = make([]byte, 1024)
	}
	fmt.Println("map:", len(m))
	if len(os.Args) > 1 && os.Args[1] == "fail" {
		os.Exit(3)
	}
}

// syncMode runs goroutines that synchronise across CPUs; every line it prints
// is the same on any number of CPUs.
func syncMode() {
	fmt.Println("gomaxprocs equals NumCPU:", runtime.GOMAXPROCS(0) == runtime.NumCPU())

	// 10,000 goroutines through a fan-out/fan-in of channels.
	jobs := make(chan int, 64)
	res := make(chan int, 64)
	var workers sync.WaitGroup
	for w := 0; w < 32; w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range jobs {
				res <- j * 2
			}
		}()
	}
	var spawners sync.WaitGroup
	for g := 0; g < 10000; g++ {
		spawners.Add(1)
		go func(g int) {
			defer spawners.Done()
			jobs <- g
		}(g)
	}
	go func() {
		spawners.Wait()
		close(jobs)
		workers.Wait()
		close(res)
	}()
	sum := 0
	n := 0
	for v := range res {
		sum += v
		n++
	}
	fmt.Println("fan-in:", n, "results, sum", sum)

	// Mutex, RWMutex and atomics under contention.
	var mu sync.Mutex
	var rw sync.RWMutex
	var a, b int64
	var atomicCount int64
	torn := int64(0)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 5000; j++ {
				atomic.AddInt64(&atomicCount, 1)
				if j%4 == 0 {
					rw.Lock()
					a++
					b++
					rw.Unlock()
				} else {
					rw.RLock()
					if a != b {
						atomic.AddInt64(&torn, 1)
					}
					rw.RUnlock()
				}
				mu.Lock()
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	fmt.Println("atomics:", atomicCount, "rwmutex pair:", a, b, "torn:", torn)

	// A condition variable: a bounded buffer.
	var cm sync.Mutex
	cond := sync.NewCond(&cm)
	buf := []int{}
	produced, consumedSum := 0, 0
	var pc sync.WaitGroup
	pc.Add(2)
	go func() {
		defer pc.Done()
		for i := 1; i <= 20000; i++ {
			cm.Lock()
			for len(buf) >= 8 {
				cond.Wait()
			}
			buf = append(buf, i)
			produced++
			cond.Broadcast()
			cm.Unlock()
		}
	}()
	go func() {
		defer pc.Done()
		for got := 0; got < 20000; got++ {
			cm.Lock()
			for len(buf) == 0 {
				cond.Wait()
			}
			consumedSum += buf[0]
			buf = buf[1:]
			cond.Broadcast()
			cm.Unlock()
		}
	}()
	pc.Wait()
	fmt.Println("cond:", produced, "items, sum", consumedSum)

	// Timers fired from many goroutines, and tickers.
	var fired int64
	var tw sync.WaitGroup
	start := time.Now()
	for i := 0; i < 200; i++ {
		tw.Add(1)
		time.AfterFunc(time.Duration(i%20)*time.Millisecond, func() {
			atomic.AddInt64(&fired, 1)
			tw.Done()
		})
	}
	tw.Wait()
	t := time.NewTicker(2 * time.Millisecond)
	ticks := 0
	for range t.C {
		ticks++
		if ticks == 10 {
			break
		}
	}
	t.Stop()
	fmt.Println("timers:", fired, "fired; ticks:", ticks, "; took at least 20ms:", time.Since(start) >= 20*time.Millisecond)
}

// ifaces prints what net.Interfaces, InterfaceByName and Addrs say about lo.
func ifaces() {
	list, err := net.Interfaces()
	if err != nil {
		fmt.Println("net.Interfaces:", err)
		return
	}
	for _, i := range list {
		if i.Name != "lo" {
			continue
		}
		fmt.Println("lo: flags", i.Flags, "mtu", i.MTU, "hardware address", len(i.HardwareAddr))
		byName, err := net.InterfaceByName("lo")
		fmt.Println("InterfaceByName(lo): same index", err == nil && byName.Index == i.Index)
		addrs, err := i.Addrs()
		if err != nil {
			fmt.Println("Addrs:", err)
			return
		}
		for _, a := range addrs {
			if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil {
				fmt.Println("IPv4 address:", a)
			}
		}
	}
	_, err = net.InterfaceByName("nosuch0")
	fmt.Println("InterfaceByName(nosuch0):", err)
}

// connPair is a connected loopback TCP pair: the dialled end and the accepted one.
func connPair() (net.Conn, net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	defer ln.Close()
	accepted := make(chan net.Conn)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			fmt.Println("accept:", err)
			os.Exit(1)
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		fmt.Println("dial:", err)
		os.Exit(1)
	}
	return c, <-accepted
}

// relay moves 16 MiB writer -> up -> copy -> down -> reader and prints what
// arrived (a stall of the connections shows as the guest's timeout).
func relay(name string, copyConn func(dst, src net.Conn) (int64, error)) {
	const total, chunk = 16 << 20, 4096
	upW, upR := connPair()
	downW, downR := connPair()
	go func() {
		buf := make([]byte, chunk)
		for off := 0; off < total; off += chunk {
			for i := range buf {
				buf[i] = byte((off + i) * 131)
			}
			if _, err := upW.Write(buf); err != nil {
				fmt.Println("write:", err)
				break
			}
		}
		upW.Close()
	}()
	got := make(chan string)
	go func() {
		h := fnv.New32a()
		n, err := io.CopyBuffer(h, struct{ io.Reader }{downR}, make([]byte, chunk))
		got <- fmt.Sprintf("%d bytes, fnv %08x, err %v", n, h.Sum32(), err)
	}()
	n, err := copyConn(downW, upR)
	downW.Close()
	upR.Close()
	fmt.Printf("%s: relayed %d bytes (err %v); reader got %s\n", name, n, err, <-got)
	downR.Close()
}
