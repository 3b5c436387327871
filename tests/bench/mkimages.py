#!/usr/bin/python3
"""Generate the benchmark's input images (deterministic, cached by size).

  mkimages.py DIR SIZE_MB THROTTLE_MB

Writes into DIR:
  raw.img            SIZE_MB MiB, fully allocated, with an MBR (boot + root
                     partition); the data is extents of 64 KiB..4 MiB,
                     alternately pseudo-random (incompressible) and zero
  raw.img.xz         xz -T2 of raw.img (multi-block)
  raw.img.zst        zstd -T2 of raw.img
  sparse.img         raw.img with its zero extents as holes (about 50 % mapped)
  sparse.bmap        bmaptool create sparse.img
  big.img            4 x SIZE_MB MiB sparse file, one 1 MiB random extent every
                     8 MiB (12.5 % mapped) and the same MBR, for the memory measurement
  big.bmap           bmaptool create big.img
  thr.img, thr.img.xz  the first THROTTLE_MB MiB of raw.img (throttled cases)
  info.json          sizes and mapped fractions
A file is regenerated only when missing or older than this script.
"""
import json
import os
import random
import subprocess
import sys

MIB = 1 << 20


def stale(path, *deps):
    if not os.path.exists(path):
        return True
    t = os.path.getmtime(path)
    return any(os.path.getmtime(d) > t for d in (__file__,) + deps)


def extents(size, seed):
    """Yield (offset, length, is_random) covering [0, size)."""
    rng = random.Random(seed)
    off, i = 0, 0
    while off < size:
        n = rng.randrange(16, 1025) * 4096  # 64 KiB .. 4 MiB
        n = min(n, size - off)
        yield off, n, i % 2 == 0  # alternate: about half random, half zero
        off += n
        i += 1


def write_raw(path, size):
    data_rng = random.Random(1234)
    tmp = path + ".tmp"
    zero = bytes(4 * MIB)
    rand_bytes = 0
    with open(tmp, "wb") as f:
        for _, n, is_random in extents(size, 42):
            if is_random:
                f.write(data_rng.randbytes(n))
                rand_bytes += n
            else:
                f.write(zero[:n])
    partition(tmp, size)
    os.rename(tmp, path)


def partition(path, size):
    """An MBR like a Raspberry Pi image's: a small FAT boot partition, then root."""
    boot = max(1, size // MIB // 16)
    script = f"label: dos\nlabel-id: 0x62736c31\nstart=1MiB, size={boot}MiB, type=c\nstart={boot + 1}MiB, type=83\n"
    subprocess.run(["sfdisk", "-q", "--no-reread", "--no-tell-kernel", path],
                   input=script.encode(), check=True, stdout=subprocess.DEVNULL)


def write_big(path, size):
    rng = random.Random(99)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.truncate(size)
        for off in range(0, size, 8 * MIB):
            f.seek(off + rng.randrange(0, 7) * MIB)
            f.write(rng.randbytes(MIB))
    partition(tmp, size)
    os.rename(tmp, path)


def run(cmd, out=None):
    print("mkimages: " + " ".join(cmd) + (" > " + out if out else ""), file=sys.stderr)
    if out:
        with open(out + ".tmp", "wb") as f:
            subprocess.run(cmd, stdout=f, check=True)
        os.rename(out + ".tmp", out)
    else:
        subprocess.run(cmd, check=True)


def mapped(path):
    return os.stat(path).st_blocks * 512


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    d, size_mb, thr_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if size_mb < 8 or thr_mb < 1 or thr_mb > size_mb:
        print("mkimages: Unable to generate images: need SIZE_MB >= 8 and 1 <= THROTTLE_MB <= SIZE_MB",
              file=sys.stderr)
        return 2
    os.makedirs(d, exist_ok=True)
    p = lambda n: os.path.join(d, n)
    size = size_mb * MIB
    if stale(p("raw.img")):
        print(f"mkimages: writing {p('raw.img')} ({size_mb} MiB)", file=sys.stderr)
        write_raw(p("raw.img"), size)
    if stale(p("raw.img.xz"), p("raw.img")):
        run(["xz", "-T2", "-c", p("raw.img")], p("raw.img.xz"))
    if stale(p("raw.img.zst"), p("raw.img")):
        run(["zstd", "-T2", "-q", "-c", p("raw.img")], p("raw.img.zst"))
    if stale(p("sparse.img"), p("raw.img")):
        run(["cp", "--sparse=always", p("raw.img"), p("sparse.img")])
    if stale(p("sparse.bmap"), p("sparse.img")):
        run(["bmaptool", "-q", "create", "-o", p("sparse.bmap"), p("sparse.img")])
    if stale(p("big.img")):
        print(f"mkimages: writing {p('big.img')} ({4 * size_mb} MiB sparse)", file=sys.stderr)
        write_big(p("big.img"), 4 * size)
    if stale(p("big.bmap"), p("big.img")):
        run(["bmaptool", "-q", "create", "-o", p("big.bmap"), p("big.img")])
    if stale(p("thr.img"), p("raw.img")):
        run(["head", "-c", str(thr_mb * MIB), p("raw.img")], p("thr.img"))
    if stale(p("thr.img.xz"), p("thr.img")):
        run(["xz", "-T2", "-c", p("thr.img")], p("thr.img.xz"))
    nonzero = sum(n for _, n, r in extents(size, 42) if r)
    info = {
        "size_mb": size_mb,
        "throttle_image_mb": thr_mb,
        "raw_random_fraction": round(nonzero / size, 4),
        "sparse_mapped_fraction": round(mapped(p("sparse.img")) / size, 4),
        "big_size_mb": 4 * size_mb,
        "big_mapped_fraction": round(mapped(p("big.img")) / (4 * size), 4),
        "xz_bytes": os.path.getsize(p("raw.img.xz")),
        "zst_bytes": os.path.getsize(p("raw.img.zst")),
    }
    with open(p("info.json"), "w") as f:
        json.dump(info, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
