#!/usr/bin/env python3
"""Seed inputs for fuzz_kv_block: a byte choosing the reader's layout, the prefix's block count
and the checksum fix-up (as fuzz_kv_block.cpp reads it), then a block file: the one the writer
makes for that layout and prefix (runtime/disk_cache.cpp's format and hash, written again here),
and that file truncated, lengthened, with a flipped byte, of another layout, chain or version.

Usage: make_kv_block_seeds.py OUTDIR"""
import os
import struct
import sys

MASK = (1 << 64) - 1
ODD = 0x9e3779b97f4a7c15
# fuzz_kv_block.cpp's kLayouts (fingerprint, block_tokens, n_layer, k_row_bytes, v_row_bytes) and kChain.
LAYOUTS = [(0x66727567616c3031, 4, 2, 16, 8), (0x0123456789abcdef, 2, 3, 12, 0), (1, 1, 1, 4, 4),
           (0xffffffffffffffff, 16, 1, 2, 2)]
CHAIN = 0x5eed0fc4a1b2c3d4


def step(h, w):
    h = ((h ^ w) * ODD) & MASK
    return h ^ (h >> 32)


def hash_bytes(data, seed):  # disk_cache.cpp hash_bytes
    lane = [(seed + j * ODD) & MASK for j in range(4)]
    i = 0
    while i + 32 <= len(data):
        for j in range(4):
            lane[j] = step(lane[j], struct.unpack_from('<Q', data, i + 8 * j)[0])
        i += 32
    tail = data[i:] + bytes(32 - (len(data) - i))
    h = step(seed, len(data))
    for j in range(4):
        h = step(h, step(lane[j], struct.unpack_from('<Q', tail, 8 * j)[0]))
    h ^= h >> 29
    return step(h, 0)


def block_file(layout, blocks, chain=CHAIN, version=3, rows=None):
    fp, bt, n_layer, k, v = layout
    n_prefix = bt * blocks
    head = b'FRGKV1' + struct.pack('<HQqqqqqQ', version, fp, bt, n_layer, k, v, n_prefix, chain)
    head += b''.join(struct.pack('<i', i * 7919 + 1) for i in range(n_prefix))
    if rows is None:
        rows = bytes((i * 37 + 11) & 255 for i in range(n_layer * bt * (k + v)))
    return head + rows + struct.pack('<Q', hash_bytes(rows, hash_bytes(head, 0)))


out = sys.argv[1]
os.makedirs(out, exist_ok=True)
seeds = []
for li, layout in enumerate(LAYOUTS):
    for blocks in (1, 2, 4):
        sel = li | (blocks - 1) << 2
        good = block_file(layout, blocks)
        seeds.append(bytes([sel]) + good)
        if blocks == 1:
            seeds += [bytes([sel]) + good[:-1], bytes([sel]) + good + b'\0', bytes([sel]) + good[:len(good) // 2],
                      bytes([sel]) + good[:20] + bytes([good[20] ^ 1]) + good[21:],        # a flipped header byte
                      bytes([sel | 16]) + good[:70] + bytes([good[70] ^ 0x80]) + good[71:],  # a token, sum fixed up
                      bytes([sel]) + good[:-9] + bytes([good[-9] ^ 4]) + good[-8:],        # a row byte
                      bytes([sel]) + block_file(layout, blocks, chain=CHAIN ^ 1),
                      bytes([sel]) + block_file(layout, blocks, version=2),
                      bytes([sel]) + block_file(LAYOUTS[(li + 1) % 4], blocks)]
seeds.append(bytes([16]) + b'FRGKV1')
for i, s in enumerate(seeds):
    with open(os.path.join(out, f'seed-{i:02d}'), 'wb') as f:
        f.write(s)
