#!/bin/sh
# The benchmark's medians (tests/boot/bench.sh): per VMM and kernel (bzImage, vmlinux), the median
# of each phase over the timed boots (untraced, not failed), and vmm against the best peer: vmm's
# lowest median wall time to init over the best peer's (the lowest of any peer and kernel: QEMU
# at its best). The boots made once (traced, lastbus0, console, profile) stay out. Then, per
# kernel, vmm against the faster peer of the same round (bench.sh's "BENCH: round" lines; a
# round of a later L1 boot counts apart), round by round: how much the L1's drift moves it.
# Last, the floor: vmm's best median less vmm's own share of it (its set-up to the first KVM_RUN,
# and its exits to user space during the traced boot of that kernel, each at the whole round trip
# `vmm bench-exit` measured through vmm's dispatcher in the same run, the L1's part included),
# over the best peer: the ratio a VMM with no set-up and no exit to user space would reach with
# this guest on this machine.
# Usage: bench-medians.sh FILE... (BENCH lines; other lines and carriage returns are ignored)
cat "$@" | tr -d '\r' | awk '/^BENCH: round / { r++; next }
# "BENCH: boot-vmm kernel=vmlinux exits: io=1142 mmio=241": the exits to vmm in a traced boot, to init.
/^BENCH: boot-vmm kernel=[^ ]* exits: / {
	split($3, k, "="); t = 0
	for (i = 5; i <= NF; i++) { split($i, kv, "="); t += kv[2] }
	v["exits " k[2], "n", ++n["exits " k[2], "n"]] = t
	next
}
/^BENCH: bench-exit: / {
	for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "dispatch_ns_per_exit") v["rt", "ns", ++n["rt", "ns"]] = kv[2] + 0 }
	next
}
/^BENCH: boot vmm=/ && !/traced=1/ && !/failed/ {
	split($3, w, "="); split($4, k, "="); key = w[2] " " k[2]
	if (k[2] != "bzImage" && k[2] != "vmlinux") next
	for (i = 5; i <= NF; i++) {
		split($i, kv, "="); v[key, kv[1], ++n[key, kv[1]]] = kv[2] + 0
		if (kv[1] == "wall_to_init_ms") rw[r, k[2], w[2]] = kv[2] + 0
	}
	if (w[2] != "vmm") peers[w[2]] = 1
	keys[key] = 1
}
function median(key, f,    m, i, j, t, a) {
	m = n[key, f]; if (!m) return ""
	for (i = 1; i <= m; i++) a[i] = v[key, f, i]
	for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
END {
	best = ""; vbest = ""
	for (key in keys) {
		split(key, p, " ")
		line = "BENCH: boot-median vmm=" p[1] " kernel=" p[2] " boots=" n[key, "wall_to_init_ms"]
		flist = "wall_to_init_ms uptime_s init_ms before_clock_ms guest_clock_rate before_clock_est_ms setup_ms scrub_ms"
		nf = split(flist, fs, " ")
		for (i = 1; i <= nf; i++) { m = median(key, fs[i]); if (m != "") line = line " " fs[i] "=" m }
		print line
		wm = median(key, "wall_to_init_ms") + 0
		if (p[1] == "vmm" && (vbest == "" || wm < vbest)) { vbest = wm; vkey = key }
		if (p[1] != "vmm" && (best == "" || wm < best)) { best = wm; bkey = key }
	}
	if (vbest != "" && best != "")
		printf "BENCH: boot-ratio vmm (%s) %d ms / best peer (%s) %d ms = %.2f\n", vkey, vbest, bkey, best, vbest / best
	split(vkey, vk, " ")
	if (vbest != "" && best != "" && n[vkey, "setup_ms"] && n["exits " vk[2], "n"] && n["rt", "ns"]) {
		su = median(vkey, "setup_ms"); ex = median("exits " vk[2], "n"); rt = median("rt", "ns")
		own = su + ex * rt / 1e6
		printf "BENCH: boot-ratio-floor vmm (%s) %d ms less its own %.0f ms (set-up %.0f ms, %d exits at %.1f us) / best peer (%s) %d ms = %.2f\n",
			vkey, vbest, own, su, ex, rt / 1000, bkey, best, (vbest - own) / best
	}
	split("bzImage vmlinux", kerns, " ")
	for (ki = 1; r && ki <= 2; ki++) {
		# The round ratios go into v/n under their own key (not in keys), for median().
		kern = kerns[ki]; line = ""; rkey = "rounds " kern
		for (rr = 0; rr <= r; rr++) {
			if (!((rr, kern, "vmm") in rw)) continue
			pb = ""
			for (peer in peers) if ((rr, kern, peer) in rw && (pb == "" || rw[rr, kern, peer] < pb)) pb = rw[rr, kern, peer]
			if (pb == "" || pb <= 0) continue
			v[rkey, "ratio", ++n[rkey, "ratio"]] = rw[rr, kern, "vmm"] / pb
			line = line sprintf(" %.2f", rw[rr, kern, "vmm"] / pb)
		}
		if (!n[rkey, "ratio"]) continue
		printf "BENCH: boot-ratio-rounds kernel=%s vmm / the faster peer of its round:%s (median %.2f of %d rounds)\n", kern, line,
			median(rkey, "ratio"), n[rkey, "ratio"]
	}
}' | sort
