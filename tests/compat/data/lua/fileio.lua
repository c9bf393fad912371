-- Files: write, append, read back, lines, seek, remove, rename, errors.
local f = assert(io.open("lua-out.txt", "w"))
for i = 1, 5 do f:write("line ", i, "\n") end
f:close()
f = assert(io.open("lua-out.txt", "a")); f:write("appended\n"); f:close()
local n = 0
for l in io.lines("lua-out.txt") do n = n + 1 end
print("lines", n)
f = assert(io.open("lua-out.txt", "r"))
print("size", f:seek("end")); f:seek("set", 5); print("at 5:", f:read("l")); f:close()
print(os.rename("lua-out.txt", "lua-renamed.txt"))
print(io.open("lua-out.txt") == nil, select(2, io.open("missing.txt")))
print(os.remove("lua-renamed.txt"), os.remove("lua-renamed.txt"))
print("words", io.open("words.txt"):read("a"):gsub("%S+", "")) 
