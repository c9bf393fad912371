-- CPU-bound: primes, fibonacci with memo, string building, gc.
local sieve, count = {}, 0
for i = 2, 200000 do
  if not sieve[i] then count = count + 1; for j = i * i, 200000, i do sieve[j] = true end end
end
print("primes", count)
local memo = {}
local function fib(n) if n < 2 then return n end; if memo[n] then return memo[n] end; local v = fib(n-1) + fib(n-2); memo[n] = v; return v end
print("fib", fib(80))
local parts = {}
for i = 1, 50000 do parts[#parts + 1] = tostring(i) end
local s = table.concat(parts)
print("len", #s, s:sub(-10))
collectgarbage(); print("gc", collectgarbage("count") > 0)
