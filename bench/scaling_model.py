#!/usr/bin/env python3
"""How far DeepSeek-V3 / R1 (671B) decode scales over N CPU nodes, for each split (issue 14).

A model, not a measurement: decode is bandwidth-bound, so a node's time for a token is the bytes
it reads divided by its effective decode bandwidth (calibrated from a `frugal bench --json` run on
a real node: bytes_per_token x tg_tok_s), and the network adds a latency and a transfer time per
message. Shapes are DeepSeek-V3's published config; bits per weight those of a Q4_K_M file.

  bench/scaling_model.py [--calibrate BENCH.json | --bw GBPS] [--node-mem GIB] [--ctx N]
  bench/scaling_model.py --check ONE_RANK.json TWO_RANKS.json   (the loopback runs of this machine)

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
    """Bytes one decoded token reads, split into what every rank of an expert split replicates
    and the routed experts."""
    rep = LAYERS * bytes_of(ATTN, bits) + DENSE * bytes_of(3 * H * FF, bits)
    rep += MOE * (bytes_of(EXPERT, bits) + ROUTER_BYTES) + bytes_of(H * VOCAB, head_bits)
    rep += ctx * LAYERS * (KVL + ROPE) * 2  # the MLA latent cache (f16) at context ctx
    routed = MOE * TOPK * bytes_of(EXPERT, bits)
    return rep, routed


def file_bytes(bits, head_bits):
    return (LAYERS * bytes_of(ATTN, bits) + DENSE * bytes_of(3 * H * FF, bits)
            + MOE * (N_EXP + 1) * bytes_of(EXPERT, bits) + 2 * bytes_of(H * VOCAB, head_bits))


def max_experts_per_rank(n, trials=20000, seed=1):
    """Mean over tokens of (the most experts one rank runs, the ranks a token touches), with
    V3's group-limited routing and experts in contiguous ranges per rank."""
    rng = random.Random(seed)
    per_group = N_EXP // GROUPS
    worst = touched = 0
    for _ in range(trials):
        groups = rng.sample(range(GROUPS), TOPG)
        experts = rng.sample([g * per_group + i for g in groups for i in range(per_group)], TOPK)
        load = {}
        for e in experts:
            r = e * n // N_EXP
            load[r] = load.get(r, 0) + 1
        worst += max(load.values())
        touched += len(load)
    return worst / trials, touched / trials


def predict(n, bw, lat, net, bits, head_bits, ctx):
    """Tokens/s: pipeline single stream, pipeline aggregate (n micro-batches in flight), expert
    split single stream."""
    rep, routed = token_bytes(bits, head_bits, ctx)
    total = rep + routed
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
    # Expert split: every rank holds attention, dense layers, shared experts, routers and head;
    # rank 0 runs them, and per MoE layer sends the hidden row to the ranks owning the chosen
    # experts and takes their weighted sums back (sends leave rank 0's NIC one after another).
    worst, touched = max_experts_per_rank(n) if n > 1 else (TOPK, 1)
    moe_wire = 0 if n == 1 else 2 * lat + 2 * touched * hidden / net
    expert = 1 / (rep / bw + MOE * (worst * bytes_of(EXPERT, bits) / bw + moe_wire))
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
                    help='bench --json of one rank and of a two-rank pipeline on this machine')
    a = ap.parse_args()

    if a.check:
        one, two = (json.load(open(p)) for p in a.check)
        t1 = 1 / one['tg_tok_s']
        wire = two['tg_wire_share'] / two['tg_tok_s']
        pred = 1 / (t1 + wire)
        print(f"loopback check: one rank {one['tg_tok_s']:.2f} tok/s; two-rank pipeline predicted "
              f"{pred:.2f} (one rank's time + the measured wire, {1e3 * wire:.2f} ms/token), measured "
              f"{two['tg_tok_s']:.2f}: the model is off by {100 * (pred / two['tg_tok_s'] - 1):+.1f} %")
        return

    bw = a.bw
    if a.calibrate:
        c = json.load(open(a.calibrate))
        bw = c['bytes_per_token'] * c['tg_tok_s'] / 1e9
        print(f"calibrated from {a.calibrate}: {c['bytes_per_token'] / 1e9:.3f} GB/token x {c['tg_tok_s']:.2f} tok/s "
              f"= {bw:.1f} GB/s effective decode bandwidth per node")
    bw *= 1e9
    rep, routed = token_bytes(a.bits, a.head_bits, a.ctx)
    fb = file_bytes(a.bits, a.head_bits)
    min_nodes = int(-(-fb // (a.node_mem * 2**30)))
    print(f"DeepSeek-V3 671B at {a.bits} bits/weight: file {fb / 1e9:.0f} GB (fits in {min_nodes}+ nodes of "
          f"{a.node_mem:.0f} GiB); a token reads {(rep + routed) / 1e9:.1f} GB, {routed / 1e9:.1f} GB of it "
          f"routed experts; node bandwidth {bw / 1e9:.0f} GB/s\n")
    nets = [('10 GbE', 50e-6, 1.25e9), ('25 GbE', 20e-6, 3.125e9), ('100 GbE', 8e-6, 12.5e9)]
    print('| nodes | network | pipeline, 1 stream | pipeline, N in flight* | experts, 1 stream |')
    print('|---|---|---|---|---|')
    for n in (1, 2, 4, 8, 16):
        for name, lat, net in nets if n > 1 else nets[:1]:
            p, pa, e = predict(n, bw, lat, net, a.bits, a.head_bits, a.ctx)
            fits = '' if n >= min_nodes else ' (does not fit)'
            print(f"| {n}{fits} | {name if n > 1 else '-'} | {p:.2f} | {pa:.2f} | {e:.2f} |")
    print('\n* several sequences in flight, one micro-batch per stage: not built in frugal yet.')


main()
