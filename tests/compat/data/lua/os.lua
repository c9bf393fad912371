-- os and io odds and ends: os.time of a fixed date (UTC), os.date on it, tmpname-free.
print(os.time({year = 2000, month = 1, day = 1, hour = 12}) ~= nil)
print(os.date("!%Y-%m-%d %H:%M:%S", 86400 * 365))
print(type(os.clock()), os.difftime(10, 4))
print(io.type(io.stdout), io.type(42))
local p = io.popen and pcall(io.popen, "echo hi")
print("popen-call", p)
