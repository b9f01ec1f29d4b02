#!/usr/bin/env bash
# summary.sh reads the run lines of bench/tiles/run.sh ("round=… zoom=…
# server=… phase=… rps=… p50_ms=… p99_ms=…", from a file or stdin) and prints
# per zoom the medians over the rounds of each server and phase, then the
# ratios gridmap/tegola: of the medians, and the median of the ratios taken
# round by round (the two servers ran back to back in each round, so a
# round's ratio sees the same load on the machine).
#   bench/tiles/summary.sh runs.txt
#   grep '^round=' bench/tiles/results.txt | bench/tiles/summary.sh
set -euo pipefail
awk '
  function median(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t }
    return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
  /^round=/ {
    delete v; for (f = 1; f <= NF; f++) if (split($f, kv, "=") == 2) v[kv[1]] = kv[2]
    z = v["zoom"]; if (!(z in seen)) { seen[z] = 1; zs[++nz] = z }
    if (v["round"] > rounds) rounds = v["round"]
    k = z SUBSEP v["server"] SUBSEP v["phase"]; n[k]++
    rps[k, n[k]] = v["rps"]; p50[k, n[k]] = v["p50_ms"]; p99[k, n[k]] = v["p99_ms"]
    R1[k, v["round"]] = v["rps"]; A1[k, v["round"]] = v["p50_ms"]; B1[k, v["round"]] = v["p99_ms"]
  }
  END {
    printf "medians over %d rounds; ratios gridmap/tegola (req/s: above 1 is gridmap faster; p50, p99: below 1 is gridmap faster)\n\n", rounds
    for (zi = 1; zi <= nz; zi++) { z = zs[zi]
      printf "z%-3s %-8s %-5s %10s %10s %10s\n", z, "server", "phase", "req/s", "p50 ms", "p99 ms"
      split("gridmap cold|gridmap warm|tegola cold|tegola fill|tegola warm", cs, "|")
      for (ci = 1; ci in cs; ci++) { split(cs[ci], sp, " "); k = z SUBSEP sp[1] SUBSEP sp[2]; if (!(k in n)) continue
        for (i = 1; i <= n[k]; i++) { a[i] = rps[k, i]; b[i] = p50[k, i]; c[i] = p99[k, i] }
        R[k] = median(a, n[k]); P50[k] = median(b, n[k]); P99[k] = median(c, n[k])
        printf "z%-3s %-8s %-5s %10.0f %10.2f %10.2f\n", z, sp[1], sp[2], R[k], P50[k], P99[k] }
      for (pi = 1; pi <= 2; pi++) { ph = pi == 1 ? "cold" : "warm"; g = z SUBSEP "gridmap" SUBSEP ph; t = z SUBSEP "tegola" SUBSEP ph
        if (!(g in R) || !(t in R)) continue
        m = 0; list = ""
        for (r = 1; r <= rounds; r++) if (((g, r) in R1) && ((t, r) in R1)) {
          m++; x[m] = R1[g, r] / R1[t, r]; y[m] = A1[g, r] / A1[t, r]; w[m] = B1[g, r] / B1[t, r]
          list = list sprintf("%s%.2f", (m > 1 ? " " : ""), x[m]) }
        printf "z%-3s %s gridmap/tegola: of the medians req/s %.2f, p50 %.2f, p99 %.2f; round by round (median) req/s %.2f, p50 %.2f, p99 %.2f; req/s per round: %s\n",
          z, ph, R[g] / R[t], P50[g] / P50[t], P99[g] / P99[t], median(x, m), median(y, m), median(w, m), list }
      print "" } }' "${1:-/dev/stdin}"
