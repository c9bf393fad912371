-- A small Lua workload for elfin's guest tests: deterministic output only.
local out = {}
local function say(...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = tostring(t[i]) end
  out[#out + 1] = table.concat(t, " ", 1, t.n)
end

-- strings
local s = "The quick brown fox jumps over the lazy dog"
say("upper", s:upper())
say("reverse", s:reverse())
say("gsub", (s:gsub("o", "0")))
say("find", s:find("fox"))
local words = {}
for w in s:gmatch("%a+") do words[#words + 1] = w:lower() end
table.sort(words)
say("sorted", table.concat(words, ","))
say("format", string.format("%5d|%-6s|%08.3f|%x|%q", 42, "ab", math.pi, 255, "a\nb"))
say("rep", ("ab"):rep(3, "-"))
say("byte", s:byte(1, 5))
say("utf8", utf8.len("ünïcødé"), utf8.char(72, 228, 8364))
say("pack", #string.pack("i4i8", 1, 2), string.unpack("<i4", string.pack("<i4", -7)))

-- tables
local t = {}
for i = 1, 1000 do t[i] = (i * 7919) % 1009 end
table.sort(t, function(a, b) return a > b end)
say("table", #t, t[1], t[500], t[1000])
local counts = {}
for _, v in ipairs(t) do local k = v % 10; counts[k] = (counts[k] or 0) + 1 end
local keys = {}
for k in pairs(counts) do keys[#keys + 1] = k end
table.sort(keys)
local parts = {}
for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. counts[k] end
say("buckets", table.concat(parts, " "))
say("unpack", table.unpack({1, 2, 3}))
say("move", table.concat(table.move({1, 2, 3}, 1, 3, 2, {9}), ","))

-- math
say("math", math.floor(7.9), math.ceil(7.1), 7 // 2, 7 % 3, 2 ^ 10, math.maxinteger, math.mininteger)
say("float", string.format("%.10f %.10f %.6g", math.sin(1), math.sqrt(2), 1 / 3))
say("int", math.type(1), math.type(1.0), math.tointeger(3.0), 1 << 62, 0xff ~ 0x0f)
local fib = {1, 1}
for i = 3, 90 do fib[i] = fib[i - 1] + fib[i - 2] end
say("fib90", fib[90])

-- closures, coroutines, errors
local function counter() local n = 0; return function() n = n + 1; return n end end
local c = counter(); c(); c()
say("closure", c())
local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1); return b * 2 end)
say("coroutine", co(1), co(21))
say("pcall", select(2, pcall(error, {code = 7})).code, select(2, pcall(error, "boom", 0)))
say("metatable", setmetatable({}, {__index = function(_, k) return k .. "!" end}).hi)

-- garbage collector
local big = {}
for i = 1, 100000 do big[i] = {i} end
big = nil
collectgarbage()
say("gc", collectgarbage("count") < 10000)

io.write(table.concat(out, "\n"), "\n")
io.stderr:write("lua: done\n")
