#!/usr/bin/python3
"""Draw the training figures of a `frugal train` run to PNG (tools only, never on the serving path).

usage: tools/plot_training.py --dir models/frugal-r1-tiny.train [--out DIR]

Reads the CSV logs the stages write (pretrain.csv, sft.csv, grpo.csv, control.csv, rs.csv,
distill.csv: whichever exist) and the `frugal eval --json` files (eval-*.json greedy, passk-*.json sampled), and writes
  loss.png       loss and token accuracy per step of every supervised stage
  grpo.png       GRPO reward, accuracy, mean response length and KL per step
  pass_at_k.png  pass@k per model on the hardest trained and the held-out buckets
  accuracy.png   greedy accuracy per bucket with 95 % intervals, per model
"""
import argparse
import csv
import glob
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    return {k: [float(r[k]) for r in rows] for k in rows[0]}


def smooth(v, w):
    out, acc = [], 0.0
    for i, x in enumerate(v):
        acc += x
        if i >= w:
            acc -= v[i - w]
        out.append(acc / min(i + 1, w))
    return out


def plot_supervised(logs, out):
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for name, d in logs.items():
        if "loss" not in d or "token_acc" not in d:
            continue
        a.plot(d["step"], d["loss"], label=name)
        b.plot(d["step"], d["token_acc"], label=name)
    a.set(title="loss (next-token cross-entropy)", xlabel="step", yscale="log")
    b.set(title="token accuracy", xlabel="step")
    save(fig, (a, b), out)


def save(fig, axes, out, fontsize=None, grid_axis="both"):
    """Grid and legend on every axis, then the PNG."""
    for ax in axes:
        ax.grid(alpha=0.3, axis=grid_axis)
        ax.legend(fontsize=fontsize)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_grpo(d, out):
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    w = 5
    series = [("reward", "reward (accuracy + format)"), ("accuracy", "accuracy of the samples"),
              ("mean_len", "mean response length (tokens)"), ("kl", "KL to the reference (k3)")]
    for ax, (key, title) in zip(axes.flat, series):
        if key not in d:
            continue
        ax.plot(d["step"], d[key], alpha=0.3, color="C0")
        ax.plot(d["step"], smooth(d[key], w), color="C0", label=f"{w}-step mean")
        if key == "mean_len" and "mean_len_correct" in d:
            ax.plot(d["step"], smooth(d["mean_len_correct"], w), color="C1", label="correct samples")
        ax.set(title=title, xlabel="GRPO step")
    save(fig, axes.flat, out)


def plot_pass(evals, out_pass):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    drawn = False
    for name, e in evals.items():
        ks = e.get("ks", [])
        for b in e["buckets"]:
            if "pass_at_k" not in b:
                continue
            ax.plot(ks, b["pass_at_k"], marker="o", label=f"{name}: {b['bucket']}")
            drawn = True
    if drawn:
        ax.set(title="pass@k (sampled, unbiased estimator)", xlabel="k", ylabel="pass@k", xscale="log")
        ax.set_xticks(ks, [str(k) for k in ks])
        save(fig, [ax], out_pass, fontsize=7)
    plt.close(fig)


def plot_accuracy(evals, out_acc):
    names = list(evals)
    buckets = []
    for e in evals.values():
        for b in e["buckets"]:
            if b["bucket"] not in buckets:
                buckets.append(b["bucket"])
    if not names or not buckets:
        return
    fig, ax = plt.subplots(figsize=(max(8, len(buckets) * 0.7), 4.5))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        by = {b["bucket"]: b for b in evals[name]["buckets"]}
        xs, ys, lo, hi = [], [], [], []
        for j, bk in enumerate(buckets):
            if bk in by:
                b = by[bk]
                xs.append(j + i * width)
                ys.append(b["accuracy"])
                lo.append(max(0.0, b["accuracy"] - b["ci95"][0]))  # rounding can cross the point
                hi.append(max(0.0, b["ci95"][1] - b["accuracy"]))
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=name)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(buckets))], buckets, rotation=60, fontsize=8)
    ax.set(title="greedy accuracy per bucket (95 % Wilson intervals)", ylabel="accuracy", ylim=(0, 1))
    save(fig, [ax], out_acc, fontsize=8, grid_axis="y")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", required=True, help="folder with the stage CSV logs, eval-*.json (greedy) and passk-*.json files")
    p.add_argument("--out", help="where the PNGs go (default: --dir)")
    a = p.parse_args()
    out = a.out or a.dir
    os.makedirs(out, exist_ok=True)
    logs = {}
    for stage in ("pretrain", "sft", "control", "rs", "distill"):
        path = os.path.join(a.dir, stage + ".csv")
        if os.path.exists(path):
            logs[stage] = read_csv(path)
    if logs:
        plot_supervised(logs, os.path.join(out, "loss.png"))
    grpo = os.path.join(a.dir, "grpo.csv")
    if os.path.exists(grpo):
        plot_grpo(read_csv(grpo), os.path.join(out, "grpo.png"))
    def load(prefix):
        found = {}
        for path in sorted(glob.glob(os.path.join(a.dir, prefix + "-*.json"))):
            with open(path) as f:
                found[os.path.basename(path)[len(prefix) + 1:-5]] = json.load(f)
        return found

    plot_pass(load("passk"), os.path.join(out, "pass_at_k.png"))
    plot_accuracy(load("eval"), os.path.join(out, "accuracy.png"))
    print("plots written to", out)


if __name__ == "__main__":
    main()
