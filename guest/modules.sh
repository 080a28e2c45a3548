# Shell helpers shared by the guest and L1 builders (sourced, POSIX sh).

# newest_kernel: the newest kernel version that has both /boot/vmlinuz-V and /lib/modules/V.
newest_kernel() {
	for k in $(ls /lib/modules 2>/dev/null | sort -V -r); do
		if [ -r "/boot/vmlinuz-$k" ]; then
			echo "$k"
			return 0
		fi
	done
	return 1
}

# add_modules KVER DESTROOT MODULE...: copies each module and its dependencies (from
# modules.dep) into DESTROOT/lib/modules and appends them, dependencies first, to
# DESTROOT/etc/modules.load, each once.
add_modules() {
	add_modules_to modules.load "$@"
}

# add_modules_to LIST KVER DESTROOT MODULE...: as add_modules, into DESTROOT/etc/LIST; a module
# already in another list is not listed again.
add_modules_to() {
	list=$1 kver=$2 root=$3
	shift 3
	mkdir -p "$root/lib/modules" "$root/etc"
	touch "$root/etc/$list"
	for name in "$@"; do
		line=$(grep -E "(^|/)${name}\.ko(\.[a-z]+)?:" "/lib/modules/$kver/modules.dep" | head -n 1)
		if [ -z "$line" ]; then
			echo "module $name not found for kernel $kver" >&2
			return 1
		fi
		mod=${line%%:*}
		deps=${line#*:}
		# modules.dep lists the nearest dependency first: load in reverse.
		order=""
		for d in $deps; do order="$d $order"; done
		for m in $order $mod; do
			# The name as listed (and loaded): compressed modules are stored unpacked.
			base=$(basename "$m")
			base=${base%.xz}
			base=${base%.zst}
			cat "$root"/etc/modules.* | grep -qx "$base" && continue
			case "$m" in
			*.ko) cp "/lib/modules/$kver/$m" "$root/lib/modules/$base" ;;
			*.ko.xz) xz -dc "/lib/modules/$kver/$m" >"$root/lib/modules/$base" ;;
			*.ko.zst) zstd -qdc "/lib/modules/$kver/$m" >"$root/lib/modules/$base" ;;
			esac
			echo "$base" >>"$root/etc/$list"
		done
	done
}

# make_cpio DIR OUT [gzip|lz4]: a compressed newc archive of DIR, files owned by root. lz4 is
# the kernel's legacy LZ4 format (lz4 -l, CONFIG_RD_LZ4), which a guest under emulation unpacks
# in about half gzip's time.
make_cpio() {
	case "${3:-gzip}" in
	lz4) cpio_compress="lz4 -l -9 -q" ;;
	*) cpio_compress="gzip -1" ;;
	esac
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | $cpio_compress >"$2"
}

# add_binary ROOT PATH [DEST]: copies a dynamically linked program and the libraries ldd lists.
add_binary() {
	root=$1 bin=$2 dest=${3:-/usr/bin}
	mkdir -p "$root$dest"
	cp "$bin" "$root$dest/"
	add_libs "$root" "$bin"
}

# add_libs ROOT PATH: copies the libraries ldd lists for the program PATH, the dynamic loader
# included, into ROOT at their own paths. Nothing for a static program.
add_libs() {
	root=$1 bin=$2
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
