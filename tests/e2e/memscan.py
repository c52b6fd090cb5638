#!/usr/bin/env python3
"""memscan.py PID HEX...: print each HEX byte string found in PID's readable
memory (regions up to a bound; the sanitizers' shadow reservations are
skipped). Used by t330 to show which process holds which key."""
import re
import sys

MAX_REGION = 256 * 1024 * 1024


def main():
    pid = sys.argv[1]
    needles = {h: bytes.fromhex(h) for h in sys.argv[2:]}
    found = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            start, end, perms = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
            if perms[0] != "r" or end - start > MAX_REGION or "[vvar]" in line:
                continue
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except OSError:
                continue
            for h, b in needles.items():
                if b in data:
                    found.add(h)
    for h in sorted(found):
        print(h)


main()
