#!/usr/bin/env python3
"""Compare a regenerated golden case with an original one.

    /usr/bin/python3 compare_case.py ORIGINAL_CASE NEW_CASE [--tol 1e-6]

Reports, for every tensor of expected.safetensors: presence, dtype, shape, whether the values are bit-identical,
and the max abs difference (float) or the number of differing entries (int64). Also compares case.json (parsed and
byte for byte) and every file of model/ (byte for byte). Exit status 0 when every int tensor is exactly equal,
every float tensor is within --tol and case.json has the same content.
"""

import argparse
import hashlib
import json
import os
import sys

_REF_SRC = os.environ.get("GOLDEN_REF_SRC", "/tmp/ref/src")
_SHIMS = os.environ.get("GOLDEN_REF_SHIMS", "/work/shared/reference/shims")
for _p in (_SHIMS, _REF_SRC):
    if os.path.isdir(_p) and _p not in sys.path:
        sys.path.insert(0, _p)

import torch  # noqa: E402
from safetensors.torch import load_file  # noqa: E402


def md5(path):
    with open(path, "rb") as fh:
        return hashlib.md5(fh.read()).hexdigest()


def compare(orig, new, tol, quiet=False):
    ok = True
    a = load_file(os.path.join(orig, "expected.safetensors"))
    b = load_file(os.path.join(new, "expected.safetensors"))
    n_bit, n_tol = 0, 0
    for k in sorted(set(a) | set(b)):
        if k not in b:
            print(f"  MISSING in new   {k}")
            ok = False
            continue
        if k not in a:
            print(f"  EXTRA in new     {k}")
            ok = False
            continue
        x, y = a[k], b[k]
        if x.dtype != y.dtype or x.shape != y.shape:
            print(f"  MISMATCH {k}: {x.dtype} {tuple(x.shape)} vs {y.dtype} {tuple(y.shape)}")
            ok = False
            continue
        bit = torch.equal(x, y)
        n_bit += bit
        if x.dtype == torch.int64:
            nd = int((x != y).sum())
            status = "bit-exact" if bit else f"{nd} entries differ"
            ok &= bit
        else:
            err = float((x - y).abs().max()) if x.numel() else 0.0
            within = err <= tol
            n_tol += within
            status = "bit-exact" if bit else f"max abs diff {err:.3e}" + ("" if within else "  FAIL")
            ok &= within
        if not quiet or not bit:
            print(f"  {k:45s} {str(x.dtype).replace('torch.', ''):8s} {str(list(x.shape)):18s} {status}")
    print(f"  tensors: {len(a)} original, {len(b)} new, {n_bit} bit-exact")

    ca = json.load(open(os.path.join(orig, "case.json"), encoding="utf-8"))
    cb = json.load(open(os.path.join(new, "case.json"), encoding="utf-8"))
    same_json = ca == cb
    same_bytes = md5(os.path.join(orig, "case.json")) == md5(os.path.join(new, "case.json"))
    print(f"  case.json: content {'equal' if same_json else 'DIFFERENT'}, bytes {'equal' if same_bytes else 'different'}")
    if not same_json:
        for key in sorted(set(ca) | set(cb)):
            if ca.get(key) != cb.get(key):
                print(f"    field {key!r} differs")
        ok = False
    ea = os.path.join(orig, "expected.safetensors")
    eb = os.path.join(new, "expected.safetensors")
    print(f"  expected.safetensors bytes {'equal' if md5(ea) == md5(eb) else 'different'}")

    ma, mb = os.path.join(orig, "model"), os.path.join(new, "model")
    if os.path.isdir(ma) or os.path.isdir(mb):
        fa = set(os.listdir(ma)) if os.path.isdir(ma) else set()
        fb = set(os.listdir(mb)) if os.path.isdir(mb) else set()
        for f in sorted(fa | fb):
            if f not in fa or f not in fb:
                print(f"  model/{f}: only in {'original' if f in fa else 'new'}")
                continue
            same = md5(os.path.join(ma, f)) == md5(os.path.join(mb, f))
            print(f"  model/{f}: {'bytes equal' if same else 'bytes DIFFER'}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("original")
    ap.add_argument("new")
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--quiet", action="store_true", help="list only tensors that are not bit-exact")
    args = ap.parse_args()
    ok = compare(args.original, args.new, args.tol, args.quiet)
    print("RESULT:", "MATCH" if ok else "DIFFERENT")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
