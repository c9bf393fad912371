-- Reads stdin: counts lines and words, echoes the numbers summed.
local lines, words, sum = 0, 0, 0
for l in io.lines() do
  lines = lines + 1
  for w in l:gmatch("%S+") do
    words = words + 1
    sum = sum + (tonumber(w) or 0)
  end
end
print(lines, words, sum)
io.stderr:write("done reading\n")
