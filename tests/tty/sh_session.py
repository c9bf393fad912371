#!/usr/bin/env python3
"""Drives an interactive shell under a real pseudo-terminal, as a person at a
terminal would: sets the window size, runs a command, checks `stty size` before
and after a resize (SIGWINCH), interrupts `sleep 100` with Ctrl-C, and exits with
a status. Usage: sh_session.py COMMAND... (the shell, prompt "$ "). Prints the
transcript; exits 0 when every step saw what it expected, 1 otherwise."""
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time

argv = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    # The terminal has its size before the program starts, as a terminal
    # emulator's does (set from this side after the fork, it raced the start).
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    os.execvp(argv[0], argv)

# Output is read as it comes: `seen` is everything so far, `pos` where the next
# expectation starts looking.
seen = b""
pos = 0


def fail(why):
    sys.stdout.write("FAIL: %s\ntranscript: %r\n" % (why, seen))
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    sys.exit(1)


def expect(pat, timeout=60):
    """Waits until `pat` appears after `pos`; returns what came before it."""
    global seen, pos
    end = time.time() + timeout
    while pat not in seen[pos:]:
        left = end - time.time()
        r = select.select([fd], [], [], max(0, left))[0] if left > 0 else []
        if not r:
            fail("timed out waiting for %r" % pat)
        try:
            d = os.read(fd, 4096)
        except OSError:
            d = b""
        if not d:
            fail("end of output waiting for %r" % pat)
        seen += d
    i = seen.index(pat, pos)
    before = seen[pos:i]
    pos = i + len(pat)
    return before


def set_size(rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


expect(b"$ ")
os.write(fd, b"stty size; echo hi\r")
out = expect(b"$ ")
if b"\r\n30 100\r\n" not in out or b"hi\r\n" not in out:
    fail("stty size/echo: %r" % out)
# The terminal has a name, as a container's: /dev/pts/0 (ttyname finds it).
os.write(fd, b"tty\r")
out = expect(b"$ ")
if b"\r\n/dev/pts/0\r\n" not in out:
    fail("tty: %r" % out)
# A resize while the shell waits at its prompt: the guest gets SIGWINCH.
set_size(40, 120)
os.kill(pid, signal.SIGWINCH)
time.sleep(1)
os.write(fd, b"stty size\r")
out = expect(b"40 120\r\n")
expect(b"$ ")
# Ctrl-C interrupts the foreground job; the shell survives.
os.write(fd, b"sleep 100; echo after-sleep $?\r")
time.sleep(2)
t0 = time.time()
os.write(fd, b"\x03")
out = expect(b"$ ", timeout=30)
if time.time() - t0 > 20:
    fail("Ctrl-C did not interrupt sleep")
if b"after-sleep 1" in out:
    fail("the shell ran the rest of the line after Ctrl-C: %r" % out)
# Canonical editing in the guest: erase and kill.
os.write(fd, b"echo abX\x7fc\r")
out = expect(b"$ ")
if b"abc\r\n" not in out:
    fail("erase: %r" % out)
os.write(fd, b"exit 7\r")
end = time.time() + 30
while True:
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    try:
        if select.select([fd], [], [], 0.2)[0]:
            seen += os.read(fd, 4096)
    except OSError:
        pass
    if time.time() > end:
        fail("the shell did not exit")
code = os.waitstatus_to_exitcode(st)
if code != 7:
    fail("exit status %d, expected 7" % code)
sys.stdout.write("ok\ntranscript: %r\n" % seen)
