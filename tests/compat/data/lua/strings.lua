-- String library: patterns, formatting, utf8, pack.
local s = "elfin runs unmodified Linux programs"
print(s:upper(), #s, s:find("Linux"))
print((s:gsub("%w+", function(w) return w:sub(1, 1):upper() .. w:sub(2) end)))
for k, v in string.gmatch("a=1, b=22, c=333", "(%w+)=(%w+)") do io.write(k, ":", v, " ") end
print()
print(string.format("%-8s|%8.3f|%05d|%x|%q", "lua", math.pi, 42, 48879, "tab\tnl\n"))
print(utf8.len("ünïcødé"), utf8.char(955, 8364), #string.pack(">i4d", 7, 1.5))
print(("x"):rep(5, "-"), s:reverse():sub(1, 8), s:byte(1, 3))
