#!/usr/bin/env python3
"""Markdown tables for the model card from `frugal eval --json` files.

  tools/eval_table.py --dir models/frugal-r1-tiny.train [--models sft,grpo,control,rs,distill]

prints (1) greedy pass@1 per bucket and model with 95 % Wilson intervals and mean response
length, (2) sampled pass@k per bucket and model (passk-*.json), (3) the MTP figures
(mtp-*.json), so the card's numbers are the JSON's, never retyped by hand.
"""
import argparse
import json
import os


def load(path):
    with open(path) as f:
        return json.load(f)


def greedy_table(d, models):
    evals = {m: load(os.path.join(d, f"eval-{m}.json")) for m in models if os.path.exists(os.path.join(d, f"eval-{m}.json"))}
    if not evals:
        return ""
    names = [m for m in models if m in evals]
    rows = ["| bucket | split | n | " + " | ".join(names) + " |", "|---|---|---|" + "---|" * len(names)]
    order = [b["bucket"] for b in evals[names[0]]["buckets"]]
    for bucket in order:
        cells, ns, split = [], [], ""
        for m in names:
            b = next((x for x in evals[m]["buckets"] if x["bucket"] == bucket), None)
            if b is None:
                cells.append("–")
                continue
            ns.append(b["n"])
            split = "held-out" if b["held_out"] else "trained"
            lo, hi = b["ci95"]
            cells.append(f"{b['accuracy']:.3f} [{lo:.2f}, {hi:.2f}] ({b['mean_len']:.0f})")
        n = " / ".join(str(v) for v in sorted(set(ns)))  # models evaluated on different counts
        rows.append(f"| {bucket} | {split} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def passk_table(d, models):
    ps = {m: load(os.path.join(d, f"passk-{m}.json")) for m in models if os.path.exists(os.path.join(d, f"passk-{m}.json"))}
    if not ps:
        return ""
    names = [m for m in models if m in ps]
    first = ps[names[0]]
    ks = first["ks"]
    rows = [f"pass@k at T = {first['temperature']:.1f}, {first['samples']} samples per problem "
            f"(unbiased estimator), k = {', '.join(map(str, ks))}:", "",
            "| bucket | problems | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for b0 in first["buckets"]:
        cells = []
        for m in names:
            b = next((x for x in ps[m]["buckets"] if x["bucket"] == b0["bucket"]), None)
            cells.append("–" if b is None else " / ".join(f"{v:.2f}" for v in b["pass_at_k"]))
        pn = sorted({next((x["pass_n"] for x in ps[m]["buckets"] if x["bucket"] == b0["bucket"]), 0) for m in names})
        rows.append(f"| {b0['bucket']} | {' / '.join(map(str, pn))} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def mtp_lines(d):
    out = []
    for f in sorted(os.listdir(d)):
        if f.startswith("mtp-") and f.endswith(".json"):
            m = load(os.path.join(d, f)).get("mtp", {})
            out.append(f"{f}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in m.items()))
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", required=True)
    p.add_argument("--models", default="sft,grpo,control,rs,distill")
    a = p.parse_args()
    models = a.models.split(",")
    for part in (greedy_table(a.dir, models), passk_table(a.dir, models), mtp_lines(a.dir)):
        if part:
            print(part)
            print()


if __name__ == "__main__":
    main()
