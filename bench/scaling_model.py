#!/usr/bin/env python3
"""How far DeepSeek-V3 / R1 (671B) decode scales over N CPU nodes, for each split (issue 14).

A model, not a measurement: decode is bandwidth-bound, so a node's time for a token is the bytes
it reads divided by its effective decode bandwidth (calibrated from a `frugal bench --json` run on
a real node: bytes_per_token x tg_tok_s), and the network adds a latency and a transfer time per
message. Shapes are DeepSeek-V3's published config; bits per weight those of a Q4_K_M file.

  bench/scaling_model.py [--calibrate BENCH.json | --bw GBPS] [--node-mem GIB] [--ctx N]
  bench/scaling_model.py --check ONE_RANK.json TWO_RANKS.json [--split experts]   (loopback runs here)

Python (standard library only) as a tool, never on the serving path.
"""
import argparse
import json
import random

# DeepSeek-V3 (config.json): hidden 7168, 61 layers (3 dense), 128 heads, q_lora 1536, kv_lora
# 512, qk nope 128 + rope 64, v 128, dense ffn 18432, 256 routed experts of 2048 + 1 shared,
# 8 per token from the top 4 of 8 groups, vocab 129280.
H, LAYERS, DENSE, HEADS = 7168, 61, 3, 128
QL, KVL, NOPE, ROPE, VD = 1536, 512, 128, 64, 128
FF, FFE, N_EXP, TOPK, GROUPS, TOPG = 18432, 2048, 256, 8, 8, 4
VOCAB = 129280
MOE = LAYERS - DENSE

ATTN = H * QL + QL * HEADS * (NOPE + ROPE) + H * (KVL + ROPE) + KVL * HEADS * (NOPE + VD) + HEADS * VD * H
EXPERT = 3 * H * FFE
ROUTER_BYTES = H * N_EXP * 4  # fp32


def bytes_of(params, bits):
    return params * bits / 8


def token_bytes(bits, head_bits, ctx):
    """Bytes one decoded token reads: what stays on rank 0 in an expert split (attention, dense
    layers, routers, head, KV), the shared experts, the routed experts."""
    rest = LAYERS * bytes_of(ATTN, bits) + DENSE * bytes_of(3 * H * FF, bits)
    rest += MOE * ROUTER_BYTES + bytes_of(H * VOCAB, head_bits)
    rest += ctx * LAYERS * (KVL + ROPE) * 2  # the MLA latent cache (f16) at context ctx
    shared = MOE * bytes_of(EXPERT, bits)
    routed = MOE * TOPK * bytes_of(EXPERT, bits)
    return rest, shared, routed


def file_bytes(bits, head_bits):
    return (LAYERS * bytes_of(ATTN, bits) + DENSE * bytes_of(3 * H * FF, bits)
            + MOE * (N_EXP + 1) * bytes_of(EXPERT, bits) + 2 * bytes_of(H * VOCAB, head_bits))


def expert_ranges(n):
    """Each rank's routed experts as frugal's plan_experts gives them: whole groups when there
    are as many as ranks; rank 0, which also runs the shared expert, takes the share
    a = 1/n - (n-1)·S/(n·X) (S: shared bytes a token reads, X: routed)."""
    if n == 1:
        return [(0, N_EXP)]
    by_group = GROUPS >= n
    units, per = (GROUPS, N_EXP // GROUPS) if by_group else (N_EXP, 1)
    a = max(0.0, 1 / n - (n - 1) * 1 / (n * TOPK))  # one shared expert against TOPK routed
    first = min(max(int(a * units + 0.5), 0), units - (n - 1))
    counts = [first] + [(units - first) // (n - 1) + (1 if r < (units - first) % (n - 1) else 0) for r in range(n - 1)]
    out, at = [], 0
    for c in counts:
        out.append((at * per, (at + c) * per))
        at += c
    return out


def busiest_rank(n, trials=20000, seed=1):
    """Mean over tokens of (the experts the busiest rank runs in a MoE layer, counting the shared
    one on rank 0; the ranks other than 0 a token touches), with V3's group-limited routing."""
    rng = random.Random(seed)
    per_group = N_EXP // GROUPS
    owner = [r for r, (b, e) in enumerate(expert_ranges(n)) for _ in range(b, e)]
    worst = touched = 0
    for _ in range(trials):
        groups = rng.sample(range(GROUPS), TOPG)
        experts = rng.sample([g * per_group + i for g in groups for i in range(per_group)], TOPK)
        load = {0: 1}
        for e in experts:
            load[owner[e]] = load.get(owner[e], 0) + 1
        worst += max(load.values())
        touched += len([r for r in load if r != 0])
    return worst / trials, touched / trials


def predict(n, bw, lat, net, bits, head_bits, ctx):
    """Tokens/s: pipeline single stream, pipeline aggregate (n micro-batches in flight), expert
    split single stream."""
    rest, shared, routed = token_bytes(bits, head_bits, ctx)
    total = rest + shared + routed
    hidden = H * 4  # one fp32 row
    logits = VOCAB * 4
    # Pipeline: the stages run one after another for one stream; n-1 hidden rows and the logits
    # row cross the wire.
    wire = (n - 1) * (lat + hidden / net) + (lat + logits / net if n > 1 else 0)
    pipe = 1 / (total / bw + wire)
    # With n micro-batches in flight every stage is busy: the slowest stage (total / n, or its
    # wire) sets the pace. (Not built in frugal yet.)
    stage = total / n / bw + (lat + hidden / net if n > 1 else 0)
    pipe_agg = 1 / stage
    # Expert split: rank 0 runs attention, dense layers and routers alone; per MoE layer it
    # sends the hidden row to the ranks owning the chosen experts, runs the shared expert and
    # its own routed ones meanwhile, and takes their rows back (one per expert they ran). The
    # head's rows are shared out evenly: the final row goes out, each rank's logits come back.
    worst, touched = busiest_rank(n)
    moe_wire = 0 if n == 1 else 2 * lat + touched * hidden / net + TOPK * (1 - 1 / n) * hidden / net
    head = bytes_of(H * VOCAB, head_bits)
    head_wire = 0 if n == 1 else 2 * lat + (n - 1) * hidden / net + logits * (1 - 1 / n) / net
    expert = 1 / ((rest - head + head / n) / bw + head_wire + MOE * (worst * bytes_of(EXPERT, bits) / bw + moe_wire))
    return pipe, pipe_agg, expert


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--calibrate', help='a frugal bench --json run: bandwidth = bytes_per_token x tg_tok_s')
    ap.add_argument('--bw', type=float, default=60.0, help='effective decode bandwidth of a node, GB/s [60]')
    ap.add_argument('--bits', type=float, default=4.5, help='bits per weight of the matrices (Q4_K_M ~4.5)')
    ap.add_argument('--head-bits', type=float, default=6.5625, help='bits per weight of the head (Q6_K)')
    ap.add_argument('--ctx', type=int, default=1024, help='context position of the decoded token')
    ap.add_argument('--node-mem', type=float, default=256, help='GiB of RAM per node for weights')
    ap.add_argument('--check', nargs=2, metavar=('ONE', 'TWO'),
                    help='bench --json of one rank and of two ranks of a split on this machine')
    ap.add_argument('--split', choices=('pipeline', 'experts'), default='pipeline', help='the split --check ran [pipeline]')
    a = ap.parse_args()

    if a.check:
        one, two = (json.load(open(p)) for p in a.check)
        t1 = 1 / one['tg_tok_s']
        wire = two['tg_wire_share'] / two['tg_tok_s']
        if a.split == 'pipeline':
            # The stages run one after another: one rank's time plus the wire.
            pred, how = 1 / (t1 + wire), "one rank's time + the measured wire"
        else:
            # Time goes with the bytes read: the spread parts (MoE layers, head) shrink to the
            # busiest rank's bytes (measured from the routing of the run); the rest stays on rank 0.
            b = two['bytes_per_token']
            par, crit = two['tg_parallel_bytes_per_token'], two['tg_critical_parallel_bytes_per_token']
            pred = 1 / (t1 * (b - par + crit) / b + wire)
            how = (f"one rank's time x {(b - par + crit) / b:.3f}: the MoE layers' and head's {par / 1e9:.3f} GB per "
                   f"token become the busiest rank's {crit / 1e9:.3f}; + the measured wire")
        print(f"loopback check: one rank {one['tg_tok_s']:.2f} tok/s; two ranks ({a.split}) predicted {pred:.2f} "
              f"({how}, {1e3 * wire:.2f} ms/token), measured {two['tg_tok_s']:.2f}: the model is off by "
              f"{100 * (pred / two['tg_tok_s'] - 1):+.1f} %")
        return

    bw = a.bw
    if a.calibrate:
        c = json.load(open(a.calibrate))
        bw = c['bytes_per_token'] * c['tg_tok_s'] / 1e9
        print(f"calibrated from {a.calibrate}: {c['bytes_per_token'] / 1e9:.3f} GB/token x {c['tg_tok_s']:.2f} tok/s "
              f"= {bw:.1f} GB/s effective decode bandwidth per node")
    bw *= 1e9
    rest, shared, routed = token_bytes(a.bits, a.head_bits, a.ctx)
    fb = file_bytes(a.bits, a.head_bits)
    min_nodes = int(-(-fb // (a.node_mem * 2**30)))
    print(f"DeepSeek-V3 671B at {a.bits} bits/weight: file {fb / 1e9:.0f} GB (fits in {min_nodes}+ nodes of "
          f"{a.node_mem:.0f} GiB); a token reads {(rest + shared + routed) / 1e9:.1f} GB: {routed / 1e9:.1f} GB of "
          f"routed experts, {shared / 1e9:.1f} GB of shared ones, {rest / 1e9:.1f} GB of the rest; node bandwidth "
          f"{bw / 1e9:.0f} GB/s\n")
    nets = [('10 GbE', 50e-6, 1.25e9), ('25 GbE', 20e-6, 3.125e9), ('100 GbE', 8e-6, 12.5e9)]
    print('| nodes | network | pipeline, 1 stream | pipeline, N in flight* | experts, 1 stream |')
    print('|---|---|---|---|---|')
    for n in (1, 2, 4, 8, 16):
        for name, lat, net in nets if n > 1 else nets[:1]:
            p, pa, e = predict(n, bw, lat, net, a.bits, a.head_bits, a.ctx)
            fits = '' if n >= min_nodes else ' (does not fit)'
            print(f"| {n}{fits} | {name if n > 1 else '-'} | {p:.2f} | {pa:.2f} | {e:.2f} |")
    print('\n* several sequences in flight, one micro-batch per stage: not built in frugal yet.')
    for n in (2, 8, 16):
        worst, touched = busiest_rank(n)
        print(f"expert split, {n} ranks: the busiest rank runs {worst:.2f} experts per MoE layer (the shared one "
              f"counted on rank 0), a token touches {touched:.2f} ranks besides rank 0; ranges {expert_ranges(n)[:3]}...")


main()
