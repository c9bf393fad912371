-- Exit status and stderr on an error.
print(os.getenv("HOME"), os.getenv("PATH"), os.getenv("GREETING"), os.getenv("NOPE"))
io.stderr:write("about to exit 3\n")
os.exit(3)
