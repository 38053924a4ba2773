#!/usr/bin/env python3
"""Writes small valid GGUF files for the fuzzer's seed corpus: every value type, nested
arrays, several tensor types and alignments, v2 and v3. Small seeds let the fuzzer reach
the tensor-data checks; golden models are too large to be mutated whole.

Usage: make_gguf_seeds.py OUTDIR"""
import os
import struct
import sys


def s(x: bytes) -> bytes:
    return struct.pack("<Q", len(x)) + x


SCALARS = {  # type id: (struct format, sample)
    0: ("<B", 255), 1: ("<b", -128), 2: ("<H", 65535), 3: ("<h", -32768), 4: ("<I", 7),
    5: ("<i", -7), 6: ("<f", 0.5), 7: ("<B", 1), 10: ("<Q", 2**64 - 1), 11: ("<q", -(2**63)),
    12: ("<d", 1e-300),
}


def value(t: int, v) -> bytes:
    if t == 8:
        return s(v)
    if t == 9:
        elem, items = v
        return struct.pack("<IQ", elem, len(items)) + b"".join(value(elem, i) for i in items)
    return struct.pack(SCALARS[t][0], v)


def gguf(kvs, tensors, version=3, alignment=32) -> bytes:
    """kvs: [(key, type, value)]; tensors: [(name, ggml type, ne, nbytes)], laid out in order."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for key, t, v in kvs:
        out += s(key.encode()) + struct.pack("<I", t) + value(t, v)
    offset, blobs = 0, []
    for name, gtype, ne, nbytes in tensors:
        offset = -(-offset // alignment) * alignment
        out += s(name.encode()) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        out += struct.pack("<IQ", gtype, offset)
        blobs.append((offset, bytes((i * 31 + len(name)) & 0xFF for i in range(nbytes))))
        offset += nbytes
    out += b"\0" * (-len(out) % alignment)
    data = bytearray(offset)
    for off, blob in blobs:
        data[off:off + len(blob)] = blob
    return out + bytes(data)


def main() -> None:
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    every_type = [(f"t.{t}", t, sample) for t, (_, sample) in SCALARS.items()]
    every_type += [
        ("general.architecture", 8, b"llama"),
        ("t.strs", 9, (8, [b"a", b"", b"<|im_start|>"])),
        ("t.f32s", 9, (6, [0.0, -2.5])),
        ("t.nested", 9, (9, [(5, [1, -2]), (8, [b"deep"]), (4, [])])),
        ("t.empty", 9, (0, [])),
    ]
    tensors = [("a.weight", 0, [4, 2], 32), ("q8.weight", 8, [32, 2], 68), ("q4k.weight", 12, [256], 144),
               ("f16.weight", 1, [2, 2, 2, 2], 32)]
    seeds = {
        "every_type.gguf": gguf(every_type, tensors),
        "align64.gguf": gguf(every_type[:3] + [("general.alignment", 4, 64)], tensors[:2], alignment=64),
        "v2_no_tensors.gguf": gguf(every_type, [], version=2),
        "one_tensor.gguf": gguf([("general.architecture", 8, b"qwen3")], [("x", 0, [1], 4)]),
    }
    for name, blob in seeds.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
