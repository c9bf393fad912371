-- Tables, sorting, metatables, closures, coroutines, integer/float math.
local t = {}
for i = 1, 200 do t[i] = (i * 7919) % 211 end
table.sort(t)
print(#t, t[1], t[100], t[200], table.concat(t, ",", 1, 8))
local V = {}
V.__index = V
V.__add = function(a, b) return setmetatable({x = a.x + b.x, y = a.y + b.y}, V) end
V.__tostring = function(v) return "(" .. v.x .. "," .. v.y .. ")" end
local a = setmetatable({x = 1, y = 2}, V) + setmetatable({x = 10, y = 20}, V)
print(tostring(a))
local function counter() local n = 0; return function() n = n + 1; return n end end
local c = counter(); c(); c(); print("counter", c())
local gen = coroutine.wrap(function() for i = 1, 5 do coroutine.yield(i * i) end end)
local sq = {}
for _ = 1, 5 do sq[#sq + 1] = gen() end
print("coroutine", table.concat(sq, " "))
print(7 // 2, 7 % 3, 2 ^ 10, 1e15 + 1, math.maxinteger, 10 / 4, math.tointeger(3.0))
local ok, err = pcall(function() error({code = 42}) end)
print("pcall", ok, type(err), err.code)
print(select("#", 1, nil, 3), string.format("%g", 0.1 + 0.2))
