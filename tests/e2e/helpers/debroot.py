#!/usr/bin/env python3
"""debroot.py ROOT PKG...: a minimal Debian 12 root made of the host's
installed packages PKG and everything they depend on (Depends and
Pre-Depends, recursively; alternatives: the first one installed), and
nothing else: their files copied from the host (dpkg -L) and their entries
written into ROOT/var/lib/dpkg/status, so that `dpkg --root=ROOT -i X.deb`
checks X's dependencies against exactly that set and its maintainer scripts
run in it. A library X needs but does not declare is absent from ROOT.

The host must be Debian 12 (the test machine is); this is quicker than
debootstrap (seconds against minutes) and needs no network."""
import os, re, shutil, subprocess, sys

root, wanted = sys.argv[1], sys.argv[2:]
status = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${Status}\t${Depends}, ${Pre-Depends}\t${Provides}\n"],
                        capture_output=True, text=True, check=True).stdout
installed, deps, provides = set(), {}, {}
for line in status.splitlines():
    name, st, dep, prov = line.split("\t")
    if not st.endswith(" installed"):
        continue
    installed.add(name)
    deps[name] = dep
    for p in prov.split(","):
        p = re.sub(r"\(.*\)", "", p).strip()
        if p:
            provides.setdefault(p, name)

def resolve(alts):
    for a in alts.split("|"):
        n = re.sub(r"\(.*?\)|\[.*?\]", "", a).strip().split(":")[0]
        if n in installed:
            return n
        if n in provides:
            return provides[n]
    return None

todo, seen = list(wanted), set()
while todo:
    p = todo.pop()
    if p in seen:
        continue
    if p not in installed:
        sys.exit(f"debroot: {p} is not installed on this host")
    seen.add(p)
    for d in deps[p].split(","):
        if d.strip():
            r = resolve(d)
            if r is None:
                sys.exit(f"debroot: {p} needs {d.strip()}, not installed here")
            todo.append(r)

os.makedirs(f"{root}/var/lib/dpkg/info", exist_ok=True)
os.makedirs(f"{root}/var/lib/dpkg/updates", exist_ok=True)
for d in ("tmp", "dev", "proc", "run", "etc", "var/log"):
    os.makedirs(f"{root}/{d}", exist_ok=True)
os.chmod(f"{root}/tmp", 0o1777)
files = subprocess.run(["dpkg", "-L"] + sorted(seen), capture_output=True, text=True).stdout
paths = [f for f in files.splitlines() if f.startswith("/")]
with open(f"{root}/.files", "w") as fl:
    fl.write("\n".join(p.lstrip("/") for p in paths) + "\n")
# merged /usr: /bin, /sbin, /lib, /lib64 are links as on the host (made first:
# tar keeps them)
for l in ("bin", "sbin", "lib", "lib64"):
    if os.path.islink(f"/{l}") and not os.path.lexists(f"{root}/{l}"):
        os.symlink(os.readlink(f"/{l}"), f"{root}/{l}")
        os.makedirs(f"{root}/{os.readlink(f'/{l}')}", exist_ok=True)
# tar keeps symlinks and modes; directories are made as parents
subprocess.run(["sh", "-c", f"tar -C / -cf - --no-recursion -T '{root}/.files' 2>/dev/null | "
                f"tar -C '{root}' -xf - --keep-directory-symlink"], check=True)
os.remove(f"{root}/.files")
st = subprocess.run(["dpkg-query", "-s"] + sorted(seen), capture_output=True, text=True, check=True).stdout
with open(f"{root}/var/lib/dpkg/status", "w") as f:
    f.write(st)
for p in sorted(seen):
    for ext in ("list", "md5sums"):
        for cand in (f"/var/lib/dpkg/info/{p}.{ext}", f"/var/lib/dpkg/info/{p}:amd64.{ext}"):
            if os.path.exists(cand):
                shutil.copy(cand, f"{root}/var/lib/dpkg/info/")
open(f"{root}/var/lib/dpkg/available", "w").close()
# accounts: root only, as in a fresh system
with open(f"{root}/etc/passwd", "w") as f:
    f.write("root:x:0:0:root:/root:/bin/sh\n")
with open(f"{root}/etc/group", "w") as f:
    f.write("root:x:0:\n")
with open(f"{root}/etc/shadow", "w") as f:
    f.write("root:*:19000:0:99999:7:::\n")
with open(f"{root}/etc/gshadow", "w") as f:
    f.write("root:*::\n")
os.chmod(f"{root}/etc/shadow", 0o640)
print(f"debroot: {len(seen)} packages, {len(paths)} paths")
