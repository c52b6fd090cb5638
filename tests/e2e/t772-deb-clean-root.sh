#!/bin/sh
# The four Debian packages (scripts/mkdeb, the same as `make deb` but from
# this build) installed with dpkg into a clean Debian 12 root; each program
# starts there, and the agent, set up as the README says, runs from its
# package against a real server.
#
# The clean root: debootstrap would take minutes and the network; instead
# tests/e2e/helpers/debroot.py copies from this Debian 12 host exactly the
# packages the .deb's Depends: name, recursively, plus the base the
# maintainer script uses (dash, coreutils, passwd, libc-bin), and writes
# their dpkg status. dpkg --root=ROOT then checks the dependencies against
# that set and runs the postinst in the root; the agent runs chrooted there
# (in its own mount namespace with /proc and /dev), so a file or library the
# package lacks or does not depend on is missing and the test fails.
if [ "$(id -u)" != 0 ]; then
	echo "[t772-deb-clean-root] skipped: dpkg --root and chroot need root"
	exit 77
fi
. "$(dirname "$0")/lib.sh"
grep -q '^12\.' /etc/debian_version 2>/dev/null ||
	skip "the clean root is copied from this host, which is not Debian 12"

make_debs
# pkgfiles PACKAGE FILE...: the package holds each FILE
pkgfiles() {
	_deb=$(ls "$WORK"/deb/"$1"_*.deb) || fail "no $1 package"; shift
	dpkg-deb -c "$_deb" | awk '{ print $6 }' >"$WORK/contents"
	for _f in "$@"; do grep -qx "./$_f" "$WORK/contents" || fail "$(basename "$_deb") lacks /$_f"; done
}
pkgfiles tether-agent usr/bin/tether-agent usr/lib/systemd/system/tether-agent.service \
	usr/lib/sysusers.d/tether-agent.conf usr/lib/tmpfiles.d/tether-agent.conf \
	usr/share/man/man8/tether-agent.8 usr/share/man/man5/tether-agent.conf.5 \
	usr/share/bash-completion/completions/tether-agent etc/tether/agent.conf
DEB=$(ls "$WORK"/deb/tether-agent_*.deb)
[ "$(dpkg-deb -I "$DEB" conffiles)" = /etc/tether/agent.conf ] || fail "agent.conf is not a conffile"
pass "tether-agent.deb: binary, unit, sysusers, tmpfiles, man pages, completion; /etc/tether/agent.conf a conffile"
for p in server relay; do
	pkgfiles "tether-$p" "usr/bin/tether-$p" "usr/lib/systemd/system/tether-$p.service" \
		"usr/lib/sysusers.d/tether-$p.conf" "usr/lib/tmpfiles.d/tether-$p.conf" \
		"usr/share/man/man8/tether-$p.8" "usr/share/man/man5/tether-$p.conf.5" \
		"usr/share/bash-completion/completions/tether-$p"
done
pkgfiles tether-server usr/share/man/man5/tether-policy.conf.5
pkgfiles tether usr/bin/tether usr/share/man/man1/tether.1 usr/share/bash-completion/completions/tether
pass "tether-server.deb and tether-relay.deb: binary, unit, sysusers, tmpfiles, man pages (8 and the config's 5), completion; tether.deb: the CLI, its man page and completion"

R="$WORK/root"
# shellcheck disable=SC2086
python3 "$TETHER_SRC/tests/e2e/helpers/debroot.py" "$R" dash coreutils passwd libc-bin $DEB_DEPS \
	>"$WORK/debroot.log" 2>&1 || fail "debroot: $(cat "$WORK/debroot.log")"
grep -q '^tether' "$R/etc/passwd" && fail "the clean root has tether accounts already"
[ "$(ls "$WORK"/deb/*.deb | wc -l)" = 4 ] || fail "mkdeb made $(ls "$WORK"/deb/*.deb | wc -l) packages, not 4"
dpkg --root="$R" -i "$WORK"/deb/*.deb >"$WORK/dpkg.log" 2>&1 || fail "dpkg -i in the clean root: $(tail -5 "$WORK/dpkg.log")"
grep -q '^tether:' "$R/etc/passwd" && grep -q '^tether-support:.*:/bin/sh$' "$R/etc/passwd" ||
	fail "the postinst made no tether / tether-support accounts"
[ "$(stat -c '%a %U' "$R/var/lib/tether-agent")" = "700 $(awk -F: '$1 == "tether" { print $3 }' "$R/etc/passwd")" ] ||
	[ "$(chroot "$R" stat -c '%a %U' /var/lib/tether-agent)" = "700 tether" ] ||
	fail "state folder: $(chroot "$R" stat -c '%a %U' /var/lib/tether-agent)"
[ "$(chroot "$R" stat -c '%a %U %G' /etc/tether/agent.conf)" = "640 root tether" ] ||
	fail "agent.conf: $(chroot "$R" stat -c '%a %U %G' /etc/tether/agent.conf)"
pass "dpkg -i in a clean root ($(head -1 "$WORK/debroot.log" | cut -d' ' -f2) packages): dependencies met, accounts and folders made by the postinst"

# inroot_exec CMD...: exec CMD chrooted in the root, with /proc and /dev, in
# its own mount namespace (nothing to unmount afterwards). Exec'd, so that a
# background job (bg) has the program's pid and the harness's cleanup stops
# it: run through a function in a subshell, the agent outlived the test.
inroot_exec() {
	exec unshare --mount --propagation private sh -c \
		'mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" && exec chroot "$@"' "$R" "$R" "$@"
}
# inroot CMD...: the same, waited for.
inroot() { (inroot_exec "$@"); }
for prog in tether tether-server tether-relay tether-agent; do
	inroot "$prog" --version >"$WORK/version.log" 2>&1 ||
		fail "the packaged $prog does not start: $(cat "$WORK/version.log")"
	[ -s "$R/usr/lib/systemd/system/$prog.service" ] || [ "$prog" = tether ] || fail "no $prog.service in the root"
done
pass "the four packages together in the root; each program starts from its package"

# The administrator's steps (README, "Deploying it for real") with the
# packaged files: server and device on the host, the agent in the root.
deploy 0     # no relay: coming online needs none
start_device_service
token=$(enroll_token "$SERIAL")
deb_agent_enroll inroot "$R" "$token"
bg agent inroot_exec tether-agent run --config /etc/tether/agent.conf
cli_login
wait_online 30
pass "the packaged agent, enrolled and run as the README says in the clean root, is online at the server"
pgrep -u "$(awk -F: '$1 == "tether" { print $3 }' "$R/etc/passwd")" -x tether-net >/dev/null ||
	fail "the agent's network part does not run as the package's tether account"
pass "its network part runs as the tether account the package made"
