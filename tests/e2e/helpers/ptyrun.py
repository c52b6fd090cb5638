#!/usr/bin/env python3
"""ptyrun.py SECONDS PROMPT VAR [PROMPT VAR ...] -- CMD [ARG ...]

Run CMD on a new pseudo-terminal, as a person at a keyboard would: when the
output so far shows the next PROMPT, type the value of environment variable
VAR and Enter (secrets come from the environment, never argv). Prints all
the terminal showed (what echo would reveal) and exits with CMD's status.
Bounded: at most SECONDS, then whatever was seen is printed.
"""
import os
import pty
import sys
import time


def main():
    args = sys.argv[1:]
    if "--" not in args or len(args) < 3:
        sys.exit(__doc__)
    split = args.index("--")
    limit, pairs, cmd = float(args[0]), args[1:split], args[split + 1:]
    if len(pairs) % 2 or not cmd:
        sys.exit(__doc__)
    prompts = [(pairs[i].encode(), os.environ[pairs[i + 1]].encode())
               for i in range(0, len(pairs), 2)]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    seen, sent = b"", 0
    end = time.time() + limit
    while time.time() < end:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if sent < len(prompts) and prompts[sent][0] in seen:
            os.write(fd, prompts[sent][1] + b"\n")
            sent += 1
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(seen.decode("utf-8", "replace"))
    sys.exit(os.waitstatus_to_exitcode(status))


main()
