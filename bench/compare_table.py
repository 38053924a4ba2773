#!/usr/bin/env python3
"""The tables of bench/compare.sh from its raw results directory: per file and test, medians
(min-max) over the rounds for frugal and each peer, frugal / peer as the ratio of medians with
the range of the per-round ratios (runs of one round ran minutes apart at most), the bandwidth
probe at the start and the end, and tg as a fraction of the roofline for every engine.

Usage: compare_table.py OUT ROUNDS P N D N_PEERS LABEL... -- FILE...
"""
import json
import os
import statistics
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def peer_rate(results, test, p, n, d):
    """avg_ts of llama-bench's pp or tg entry (ik_llama.cpp's JSON has no n_depth)."""
    for e in results:
        if e.get("n_depth", 0) != d:
            continue
        if test == "pp" and e["n_prompt"] == p and e["n_gen"] == 0:
            return e["avg_ts"]
        if test == "tg" and e["n_prompt"] == 0 and e["n_gen"] == n:
            return e["avg_ts"]
    raise SystemExit(f"no {test} entry in llama-bench output {results!r:.300}")


def cell(v):
    return f"{statistics.median(v):.2f} ({min(v):.2f}–{max(v):.2f})"


def ratio(a, b):
    per_round = [x / y for x, y in zip(a, b)]
    return f"{statistics.median(a) / statistics.median(b):.2f}x ({min(per_round):.2f}–{max(per_round):.2f})"


def main():
    argv = sys.argv[1:]
    sep = argv.index("--")
    out, rounds, p, n, d, n_peers = argv[0], int(argv[1]), int(argv[2]), int(argv[3]), int(argv[4]), int(argv[5])
    labels, files = argv[6:sep], argv[sep + 1:]
    assert len(labels) == n_peers

    speed = {}  # (file index, engine, test) -> [t/s per round]
    bytes_per_tok = {}
    for fi in range(len(files)):
        for r in range(rounds):
            j = load(os.path.join(out, f"frugal.{fi}.{r}.json"))
            bytes_per_tok[fi] = j.get("bytes_per_token", j["weight_bytes_per_token"])
            speed.setdefault((fi, "frugal", "pp"), []).append(j["pp_tok_s"])
            speed.setdefault((fi, "frugal", "tg"), []).append(j["tg_tok_s"])
            for k in range(n_peers):
                res = load(os.path.join(out, f"peer{k}.{fi}.{r}.json"))
                for test in ("pp", "tg"):
                    speed.setdefault((fi, k, test), []).append(peer_rate(res, test, p, n, d))

    with open(os.path.join(out, "meta.txt")) as f:
        for line in f:
            print(f"- {line.strip()}")
    print()
    head = "| file | test | frugal t/s |" + "".join(f" {l} t/s | frugal / {l} |" for l in labels)
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    depth = f" @ d{d}" if d else ""
    for fi, f in enumerate(files):
        size = os.path.getsize(f) / 1e9
        for test, count in (("pp", p), ("tg", n)):
            fr = speed[(fi, "frugal", test)]
            row = f"| {os.path.basename(f)} ({size:.2f} GB) | {test}{count}{depth} | {cell(fr)} |"
            for k in range(n_peers):
                pk = speed[(fi, k, test)]
                row += f" {cell(pk)} | {ratio(fr, pk)} |"
            print(row)

    start, end = load(os.path.join(out, "membw-start.json")), load(os.path.join(out, "membw-end.json"))
    print()
    print(f"| bandwidth probe ({start['threads']} threads, {start['buffer_bytes'] / 2**20:.0f} MiB) | read GB/s "
          "(plain / prefetched loop) | copy GB/s | triad GB/s |")
    print("|---|---|---|---|")
    for name, m in (("start", start), ("end", end)):
        loops = f" ({m['read_plain_gb_s']:.1f} / {m['read_prefetched_gb_s']:.1f})" if "read_plain_gb_s" in m else ""
        print(f"| {name} | {m['read_gb_s']:.1f}{loops} | {m['copy_gb_s']:.1f} | {m['triad_gb_s']:.1f} |")

    # The higher read figure: the ceiling this machine showed during the run (see
    # src/cli/bench_roofline.cpp for why read, not copy or triad).
    bw = max(start["read_gb_s"], end["read_gb_s"])
    print()
    head = f"| file | weights read per token | tg roofline at {bw:.1f} GB/s | frugal tg / roofline |" + "".join(
        f" {l} tg / roofline |" for l in labels)
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for fi, f in enumerate(files):
        roof = bw * 1e9 / bytes_per_tok[fi]
        fracs = [statistics.median(speed[(fi, e, "tg")]) / roof for e in ["frugal"] + list(range(n_peers))]
        row = f"| {os.path.basename(f)} | {bytes_per_tok[fi] / 1e9:.3f} GB | {roof:.2f} t/s |"
        row += "".join(f" {x * 100:.0f}% |" for x in fracs)
        print(row)
        if max(fracs) > 1:
            print(f"\nWARNING: a tg above 100% of the roofline on {os.path.basename(f)}: the probe or the "
                  "byte count is wrong; do not report these fractions.", file=sys.stderr)


if __name__ == "__main__":
    main()
