// gotools: small deterministic Go workloads for elfin's compat corpus, one per
// subcommand (gotools NAME [ARGS]); each prints only what does not depend on
// time, addresses or process ids.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gotools sort|wc|sha256|json|base64|regexp|goroutines|bigint|primes|files|env|exit N")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "sort":
		lines := readLines(os.Stdin)
		sort.Strings(lines)
		for _, l := range lines {
			fmt.Println(l)
		}
	case "wc":
		data, _ := io.ReadAll(os.Stdin)
		words := strings.Fields(string(data))
		freq := map[string]int{}
		for _, w := range words {
			freq[strings.ToLower(w)]++
		}
		keys := make([]string, 0, len(freq))
		for k := range freq {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if freq[keys[i]] != freq[keys[j]] {
				return freq[keys[i]] > freq[keys[j]]
			}
			return keys[i] < keys[j]
		})
		fmt.Printf("bytes %d words %d distinct %d\n", len(data), len(words), len(keys))
		for i, k := range keys {
			if i == 10 {
				break
			}
			fmt.Printf("%6d %s\n", freq[k], k)
		}
	case "sha256":
		for _, p := range os.Args[2:] {
			b, err := os.ReadFile(p)
			if err != nil {
				fmt.Fprintln(os.Stderr, "gotools:", err)
				os.Exit(1)
			}
			fmt.Printf("%x  %s\n", sha256.Sum256(b), p)
		}
	case "json":
		var v interface{}
		if err := json.NewDecoder(os.Stdin).Decode(&v); err != nil {
			fmt.Fprintln(os.Stderr, "gotools: json:", err)
			os.Exit(1)
		}
		out, _ := json.MarshalIndent(v, "", "  ")
		fmt.Println(string(out))
	case "base64":
		data, _ := io.ReadAll(os.Stdin)
		fmt.Println(base64.StdEncoding.EncodeToString(data))
	case "regexp":
		re := regexp.MustCompile(os.Args[2])
		for _, l := range readLines(os.Stdin) {
			if m := re.FindStringSubmatch(l); m != nil {
				fmt.Println(strings.Join(m, "|"))
			}
		}
	case "goroutines":
		n := 8
		if len(os.Args) > 2 {
			n, _ = strconv.Atoi(os.Args[2])
		}
		results := make([]int, n)
		var wg sync.WaitGroup
		ch := make(chan int, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				s := 0
				for j := 0; j <= 100000*(i+1); j++ {
					s += j % 7
				}
				results[i] = s
				ch <- i
			}(i)
		}
		wg.Wait()
		close(ch)
		done := 0
		for range ch {
			done++
		}
		fmt.Println("goroutines done:", done)
		for i, r := range results {
			fmt.Printf("%d: %d\n", i, r)
		}
	case "bigint":
		f := big.NewInt(1)
		for i := int64(2); i <= 100; i++ {
			f.Mul(f, big.NewInt(i))
		}
		fmt.Println("100! =", f.String())
		fib := [2]*big.Int{big.NewInt(0), big.NewInt(1)}
		for i := 0; i < 300; i++ {
			fib[0].Add(fib[0], fib[1])
			fib[0], fib[1] = fib[1], fib[0]
		}
		fmt.Println("fib(300) =", fib[0].String())
	case "primes":
		n := 100000
		sieve := make([]bool, n+1)
		count, last := 0, 0
		for i := 2; i <= n; i++ {
			if !sieve[i] {
				count++
				last = i
				for j := i * i; j <= n; j += i {
					sieve[j] = true
				}
			}
		}
		fmt.Println("primes below", n, ":", count, "largest", last)
	case "files":
		dir := os.Args[2]
		var names []string
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			names = append(names, fmt.Sprintf("%s %v %d", p, info.IsDir(), sizeOf(info)))
			return nil
		})
		for _, n := range names {
			fmt.Println(n)
		}
		if err := os.WriteFile("gotools.out", []byte("written by gotools\n"), 0o644); err != nil {
			fmt.Println("write:", err)
		}
		b, err := os.ReadFile("gotools.out")
		fmt.Printf("read back %q %v\n", b, err)
		_, err = os.Stat("does-not-exist")
		fmt.Println("stat missing:", err)
	case "env":
		env := os.Environ()
		sort.Strings(env)
		for _, e := range env {
			fmt.Println(e)
		}
		wd, _ := os.Getwd()
		fmt.Println("cwd:", filepath.Base(wd))
	case "exit":
		code, _ := strconv.Atoi(os.Args[2])
		fmt.Fprintln(os.Stderr, "exiting with", code)
		os.Exit(code)
	default:
		fmt.Fprintln(os.Stderr, "gotools: unknown command", os.Args[1])
		os.Exit(2)
	}
}

func sizeOf(info os.FileInfo) int64 {
	if info.IsDir() {
		return 0
	}
	return info.Size()
}

func readLines(r io.Reader) []string {
	var lines []string
	s := bufio.NewScanner(r)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	return lines
}
