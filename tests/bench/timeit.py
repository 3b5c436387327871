#!/usr/bin/python3
"""Run one benchmark command and measure it the same way for every tool.

  timeit.py LOG -- CMD [ARG...]

Writes CMD's output (stdout and stderr) to LOG, each line prefixed with the
time it arrived ("@EPOCH text"), between "@EPOCH start" and "@EPOCH end"
lines. Prints "SECONDS PEAK_RSS_KB" on stdout, where SECONDS is the wall time
from starting CMD to reaping it and PEAK_RSS_KB the largest resident set of
CMD and its descendants (wait4's ru_maxrss). Exits with CMD's status (128 +
signal if it was killed). The interpreter's own start-up is outside the
measured interval, so every tool carries the same overhead.
"""
import os
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    log, cmd = sys.argv[1], sys.argv[3:]
    with open(log, "w") as out:
        r, w = os.pipe()
        out.write(f"@{time.time():.6f} start\n")
        out.flush()
        t0 = time.monotonic()
        try:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=w, stderr=w)
        except OSError as e:
            os.close(w)
            os.close(r)
            print(f"timeit: Unable to run {cmd[0]}: {e.strerror}", file=sys.stderr)
            return 127
        os.close(w)
        with os.fdopen(r, "rb") as f:
            for line in f:
                out.write(f"@{time.time():.6f} " + line.decode("utf-8", "replace").rstrip("\n") + "\n")
        _, status, ru = os.wait4(p.pid, 0)
        t1 = time.monotonic()
        out.write(f"@{time.time():.6f} end\n")
    print(f"{t1 - t0:.3f} {ru.ru_maxrss}")
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())
