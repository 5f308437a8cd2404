#!/usr/bin/env python3
"""Time from starting the terminal app to its first frame on the screen.

Runs `gatepass` (no arguments: the terminal app) in a pseudo-terminal of
80x24 with a fresh, empty home, RUNS times, and measures the wall-clock time
from fork until the terminal output holds MARKER: "gatepass", the title
bar of every screen, is the first frame, whichever screen it shows (the
"Starting" screen is skipped when the stored session is read before the
first draw); "Password", a field label of the sign-in screen, is the first
frame a user can type into (after the status check against SERVER).

    bench/scripts/tui-first-frame.py BINARY SERVER [MARKER] [RUNS]

Prints min / median / max in milliseconds. Bounded: each run gives up after
10 s. SERVER should be a loopback address.
"""
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time


def one_run(binary, server, marker):
    home = tempfile.mkdtemp(prefix="gatepass-first-frame-")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "XDG_DATA_HOME": os.path.join(home, ".local/share"),
        "TERM": "xterm-256color",
        "GATEPASS_SERVER": server,
        "GATEPASS_TOKEN_STORE": "file",
    }
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(binary, [binary], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    seen = b""
    elapsed = None
    deadline = start + 10
    while time.perf_counter() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if marker.encode() in seen:
            elapsed = time.perf_counter() - start
            break
    os.kill(pid, signal.SIGTERM)
    # Drain until the app has restored the terminal and exited.
    while True:
        try:
            if not os.read(fd, 65536):
                break
        except OSError:
            break
    os.waitpid(pid, 0)
    os.close(fd)
    if elapsed is None:
        sys.exit(f"no {marker!r} on the screen within 10 s; output: {seen[-400:]!r}")
    return elapsed * 1000


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, server = sys.argv[1], sys.argv[2]
    marker = sys.argv[3] if len(sys.argv) > 3 else "gatepass"
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    times = sorted(one_run(binary, server, marker) for _ in range(runs))
    print(
        f"{marker!r} on screen, {runs} runs: min {times[0]:.1f} ms, "
        f"median {statistics.median(times):.1f} ms, max {times[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
