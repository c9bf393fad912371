// goprobe exercises the Go runtime inside elfin: goroutines on several threads,
// channels, a mutex, timers, maps, the environment and arguments. Its output is
// deterministic so that it can be compared with the native run.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

func main() {
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
