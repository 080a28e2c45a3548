#!/bin/bash
# Fetches QEMU 10 from Debian's bookworm-backports suite, the harness's second peer beside the
# machine's QEMU 7.2, without touching the machine's apt set-up: a sources file, package lists,
# cache, status and preferences of its own in CACHE_DIR/apt, then `apt-get download` of
# qemu-system-x86, qemu-system-data and qemu-system-common (the backports version) and `dpkg -x`
# into CACHE_DIR/root. A second run finds the unpacked binary and downloads nothing.
# Usage: fetch-qemu10.sh CACHE_DIR
# Prints two lines on stdout, the binary's path and the first line of its `--version`; or exits 1
# with a one-line reason on stderr (apt's own output is in CACHE_DIR/fetch.log).
# The binary's ROMs are in CACHE_DIR/root/usr/share/qemu; the BIOS comes from Debian's seabios
# package (/usr/share/seabios): run it with `-L CACHE_DIR/root/usr/share/qemu -L /usr/share/seabios`.
set -u
cache=${1:?usage: fetch-qemu10.sh CACHE_DIR}
suite=${QEMU10_SUITE:-bookworm-backports}
mirror=${QEMU10_MIRROR:-http://deb.debian.org/debian}
pkgs="qemu-system-x86 qemu-system-data qemu-system-common"
mkdir -p "$cache" || { echo "cannot create $cache" >&2; exit 1; }
cache=$(cd "$cache" && pwd)
root=$cache/root bin=$cache/root/usr/bin/qemu-system-x86_64 stamp=$cache/version
log=$cache/fetch.log

fail() { echo "$*" >&2; exit 1; }

# The binary must start on this machine: every library it needs is here (the L1 gets them from
# here too), and it reports its version.
check_binary() {
	missing=$(ldd "$bin" 2>&1 | awk '/not found/ { printf "%s%s", sep, $1; sep = " " }')
	[ -z "$missing" ] || fail "QEMU $1 needs libraries this machine lacks: $missing"
	version=$("$bin" --version 2>&1 | head -n 1)
	case "$version" in
	"QEMU emulator version "*) ;;
	*) fail "the unpacked QEMU $1 does not run here: $version" ;;
	esac
}

# Already there: the unpacked binary of the version recorded when it was fetched.
if [ -x "$bin" ] && [ -s "$stamp" ]; then
	want=$(cat "$stamp")
	check_binary "$want"
	case "$version" in
	*"(Debian $want)"*)
		echo "$bin"
		echo "$version"
		exit 0
		;;
	esac
	echo "fetch-qemu10: $bin reports '$version', not $want: fetching again" >>"$log"
fi

command -v apt-get >/dev/null && command -v dpkg >/dev/null || fail "no apt-get or dpkg on this machine"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || fail "no $keyring (package debian-archive-keyring) to check $suite's signature"
a=$cache/apt
mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/sources.list.d" "$a/preferences.d" "$a/debs"
echo "deb [signed-by=$keyring] $mirror $suite main" >"$a/sources.list"
: >"$a/status"
: >"$a/preferences"
apt_opts=(-o "Dir::State::Lists=$a/lists" -o "Dir::State::status=$a/status" -o "Dir::Cache=$a/cache"
	-o "Dir::Etc::SourceList=$a/sources.list" -o "Dir::Etc::SourceParts=$a/sources.list.d"
	-o "Dir::Etc::Preferences=$a/preferences" -o "Dir::Etc::PreferencesParts=$a/preferences.d"
	-o "Acquire::Languages=none" -o "APT::Sandbox::User=$(id -un)")

: >"$log"
if ! apt-get "${apt_opts[@]}" update >>"$log" 2>&1; then
	fail "apt-get update of $suite from $mirror failed: $(grep -E '^(E|Err):' "$log" | tail -n 1 | cut -c1-200)"
fi
ls "$a/lists/"*"_dists_${suite}_"*Release >/dev/null 2>&1 ||
	fail "no $suite index from $mirror: $(grep -E '^(E|W): ' "$log" | head -n 1 | cut -c1-200)"
# The version the suite has, pinned for all three packages (they must match).
ver=$(apt-cache "${apt_opts[@]}" show "qemu-system-x86/$suite" 2>>"$log" | awk '/^Version:/ { print $2; exit }')
[ -n "$ver" ] || fail "$suite has no qemu-system-x86"
rm -f "$a/debs/"*.deb
want=()
for p in $pkgs; do want+=("$p=$ver"); done
if ! (cd "$a/debs" && apt-get "${apt_opts[@]}" download "${want[@]}") >>"$log" 2>&1; then
	fail "apt-get download of QEMU $ver failed: $(grep -E '^(E|Err):' "$log" | tail -n 1 | cut -c1-200)"
fi
rm -rf "$root.new"
mkdir -p "$root.new"
for d in "$a/debs/"*.deb; do
	dpkg -x "$d" "$root.new" || fail "dpkg -x $(basename "$d") failed"
done
rm -rf "$root"
mv "$root.new" "$root"
[ -x "$bin" ] || fail "the packages of QEMU $ver have no usr/bin/qemu-system-x86_64"
echo "$ver" >"$stamp"
check_binary "$ver"
echo "fetch-qemu10: QEMU $ver: $(du -sh "$a/debs" | cut -f1) of packages, $(du -sh "$root" | cut -f1) unpacked" >>"$log"
echo "$bin"
echo "$version"
