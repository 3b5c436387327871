#!/usr/bin/python3
"""Turn the benchmark's raw measurements into results.md and results.json.

  report.py OUTDIR "SETTINGS" MBPS [RAWDIR...]

Reads OUTDIR/raw/raw.tsv (one line per measurement: case target tool run
seconds bytes rss_kb rc note), OUTDIR/raw/meta.tsv and OUTDIR/raw/images.json.
Each figure is the median of the timed runs (run >= 1); run 0 is the warm-up
whose output is checked against the image. Peak RSS is the maximum over runs.
With RAWDIRs (raw/ directories of several runs, each covering other cases),
their measurements are merged instead; environment facts come from the first.
"""
import json
import os
import statistics
import sys
import time

MIB = 1 << 20

DD = "dd bs=4M oflag=direct conv=fsync"
# (case, device, peer tool, peer label, bootseal tool, kind, limit, what)
ROWS = [
    ("0", "none", "ddver", "dd --version", "bsver", "ratio", None, "process start-up (--version)"),
    ("0", "none", "bmapver", "bmaptool --version", "bsver", "ratio", None, "process start-up (--version)"),
    ("1", "brd", "dd", DD, "bs", "ratio", 0.9, "raw image"),
    ("1", "brd", "bmap_nob", "bmaptool copy --nobmap", "bs", "ratio", None, "raw image"),
    ("1", "null_blk", "dd", DD, "bs", "ratio", 0.9, "raw image"),
    ("1", "null_blk", "bmap_nob", "bmaptool copy --nobmap", "bs", "ratio", None, "raw image"),
    ("2xz", "brd", "xzdd", "xz -dc | " + DD + " iflag=fullblock", "bs", "ratio", 0.7, ".img.xz (xz -T2)"),
    ("2xz", "brd", "bmap_nob", "bmaptool copy --nobmap", "bs", "ratio", 0.8, ".img.xz (xz -T2)"),
    ("2zst", "brd", "zstddd", "zstd -dc | " + DD + " iflag=fullblock", "bs", "ratio", None, ".img.zst (zstd -T2)"),
    ("2zst", "brd", "bmap_nob", "bmaptool copy --nobmap", "bs", "ratio", None, ".img.zst (zstd -T2)"),
    ("3", "brd", "bmap", "bmaptool copy --bmap", "bs_bmap", "ratio", 0.9, "sparse image + bmap"),
    ("4raw", "null_blk-thr", "dd", DD, "bs", "share", 0.95, "raw image, throttled"),
    ("4xz", "null_blk-thr", "xzdd", "xz -dc | dd …", "bs", "share", 0.95, ".img.xz, throttled"),
    ("5", "null_blk-thr", "bs1", "bootseal, 1 target", "bs4", "multi", 1.2, "4 targets at once"),
    ("5", "null_blk-thr", "dd1", "dd, 1 target", "dd4", "multi", None, "4 targets at once (dd, 4 processes)"),
    ("6", "brd", "rdd", "dd iflag=direct of=/dev/null", "bsv", "rate", 0.9, "verify read-back"),
    ("7raw", "x1", None, None, "bs_verify", "rss", 64, "memory: raw image, 1 target"),
    ("7raw", "x8", None, None, "bs_verify", "rss", 64, "memory: raw image, 8 targets"),
    ("7big", "x1", None, None, "bs_verify", "rss", 64, "memory: 4x sparse image + bmap, 1 target"),
    ("7big", "x8", None, None, "bs_verify", "rss", 64, "memory: 4x sparse image + bmap, 8 targets"),
    ("10dd", "null_blk", "wdd", DD, "bs_stdd", "ratio", None,
     "dd through a staged disk, whole cycle (create, write, seal, remove)"),
    ("10dd", "null_blk", "wdd", DD, "lin_dd", "ratio", None,
     "control: dd through dm-linear, whole cycle (create, write, remove)"),
    ("10dd", "null_blk", "lin_dd", "dd through dm-linear", "bs_stdd", "ratio", None,
     "what the target adds: staged vs dm-linear, whole cycle"),
    ("10dd", "null_blk", "wdd", DD, "bs_rundd", "ratio", None,
     "dd under `bootseal run` (one process: stage, run, seal, unstage)"),
    ("10bmap", "null_blk", "wbmap", "bmaptool copy --nobmap", "bs_stbmap", "ratio", None,
     "bmaptool copy through a staged disk, whole cycle (create, write, seal, remove)"),
    ("10bmap", "null_blk", "wbmap", "bmaptool copy --nobmap", "lin_bmap", "ratio", None,
     "control: bmaptool copy through dm-linear, whole cycle (create, write, remove)"),
    ("10bmap", "null_blk", "lin_bmap", "bmaptool copy through dm-linear", "bs_stbmap", "ratio", None,
     "what the target adds: staged vs dm-linear, whole cycle"),
    ("10bmap", "null_blk", "wbmap", "bmaptool copy --nobmap", "bs_runbmap", "ratio", None,
     "bmaptool copy under `bootseal run` (one process: stage, run, seal, unstage)"),
]

# Case 10: the device-mapper runs whose phases are split (their "phase" marks).
DM_PHASES = [("10dd", "null_blk", "wdd", "bs_stdd", "staged"), ("10dd", "null_blk", "wdd", "lin_dd", "dm-linear"),
             ("10bmap", "null_blk", "wbmap", "bs_stbmap", "staged"),
             ("10bmap", "null_blk", "wbmap", "lin_bmap", "dm-linear")]
# The staged path's target: the writer's own time (its created -> written
# segment) through the staged disk vs the same segment of the straight run.
STAGED_WRITER_TARGET = 1.05


# How the devices named in raw.tsv are shown.
DEVICE_LABEL = {
    ("4raw", "null_blk-thr"): "null_blk, mbps=20",
    ("4xz", "null_blk-thr"): "null_blk, mbps=20",
    ("5", "null_blk-thr"): "4 x null_blk, mbps=20",
    ("7raw", "x1"): "1 x dm-linear on null_blk",
    ("7raw", "x8"): "8 x dm-linear on one null_blk",
    ("7big", "x1"): "1 x dm-linear on null_blk",
    ("7big", "x8"): "8 x dm-linear on one null_blk",
}


def load(path):
    recs = []
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 9:
                continue
            c, tgt, tool, run, secs, nbytes, rss, rc, note = p[:9]
            num = lambda i: float(p[i]) if len(p) > i and p[i] else None
            recs.append({
                "case": c, "target": tgt, "tool": tool, "run": run,
                "seconds": float(secs) if secs else None,
                "bytes": int(nbytes) if nbytes else None,
                "rss_kb": int(rss) if rss else None,
                "rc": rc, "note": note,
                "write_s": num(9), "verify_s": num(10),
            })
    return recs


def summarize(recs, case, target, tool):
    """Median time over timed runs, peak RSS, and why not, if unusable."""
    mine = [r for r in recs if r["case"] == case and r["target"] == target and r["tool"] == tool]
    if not mine:
        return {"status": "not run"}
    for r in mine:
        if r["rc"] == "-":
            return {"status": r["note"]}
    bad = [r for r in mine if r["run"] == "check" and r["rc"] != "0"]
    if bad:
        return {"status": "failed: " + bad[0]["note"]}
    failed = [r for r in mine if r["run"] != "check" and r["rc"] != "0"]
    if failed:
        return {"status": f"failed (run {failed[0]['run']}): {failed[0]['note']}"}
    timed = [r for r in mine if r["run"] not in ("0", "check")]
    if not timed:
        timed = [r for r in mine if r["run"] == "0"]
    secs = [r["seconds"] for r in timed]
    rss = [r["rss_kb"] for r in mine if r["rss_kb"] is not None]
    ws = [r["write_s"] for r in timed if r.get("write_s") is not None]
    vs = [r["verify_s"] for r in timed if r.get("verify_s") is not None]
    return {
        "status": "ok",
        "median_s": statistics.median(secs),
        "median_write_phase_s": statistics.median(ws) if ws else None,
        "median_verify_phase_s": statistics.median(vs) if vs else None,
        "runs_s": secs,
        "bytes": timed[0]["bytes"],
        "peak_rss_kb": max(rss) if rss else None,
        "checked": any(r["run"] == "check" for r in mine),
    }


def timeline(path):
    """Split one bootseal run's wall time at the first event of each phase.

    The log's lines carry the time they arrived ("@EPOCH text"): "@T start",
    one per --json line, "@T end". Returns [(segment, seconds)]."""
    marks = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if not line.startswith("@"):
                    continue
                ts, _, text = line[1:].rstrip("\n").partition(" ")
                try:
                    t = float(ts)
                except ValueError:
                    continue
                if text in ("start", "end"):
                    marks.append((text, t))
                    continue
                try:
                    ev = json.loads(text)
                except ValueError:
                    continue
                if ev.get("type") == "phase" and ev.get("phase"):
                    name = ev["phase"]
                    if name not in [m[0] for m in marks]:
                        marks.append((name, t))
    except OSError:
        return []
    if len(marks) < 2 or marks[0][0] != "start" or marks[-1][0] != "end":
        return []
    return [(f"{a[0]}→{b[0]}", b[1] - a[1]) for a, b in zip(marks, marks[1:])]


def find_log(raws, name):
    for d in raws:
        p = os.path.join(d, "logs", name)
        if os.path.exists(p):
            return p
    return os.path.join(raws[0], "logs", name)


def median_timeline(raws, recs, case, target, tool):
    runs = [r for r in recs if r["case"] == case and r["target"] == target and r["tool"] == tool
            and r["run"] not in ("0", "check") and r["rc"] == "0"]
    segs = {}
    order = []
    for r in runs:
        for name, secs in timeline(find_log(raws, f"{case}-{target}-{tool}-{r['run']}.log")):
            if name not in segs:
                order.append(name)
            segs.setdefault(name, []).append(secs)
    return [(n, statistics.median(segs[n])) for n in order]


def strace_gaps(path, n=12):
    """The longest waits in an strace -f -tt -T log: per line the larger of
    the call's own duration (<T>) and the pause since that pid's previous call."""
    try:
        f = open(path, errors="replace")
    except OSError:
        return None
    last, first, end, out = {}, None, None, []
    with f:
        for line in f:
            parts = line.split(None, 2)
            if len(parts) < 3 or not parts[0].isdigit():
                continue
            pid, ts, call = parts
            try:
                h, m, sec = ts.split(":")
                t = int(h) * 3600 + int(m) * 60 + float(sec)
            except ValueError:
                continue
            first = t if first is None else first
            end = t
            dur = 0.0
            if call.rstrip().endswith(">") and "<" in call:
                try:
                    dur = float(call.rstrip()[call.rstrip().rindex("<") + 1:-1])
                except ValueError:
                    pass
            if "resumed>" in call:
                # the call's start was logged on its "unfinished" line
                last[pid] = t
                out.append({"s": round(dur, 3), "pid": pid, "kind": "call", "dur": dur,
                            "call": call.strip()[:110]})
                continue
            gap = max(0.0, t - last[pid]) if pid in last else 0.0
            last[pid] = t + dur
            if "unfinished" in call:
                gap, dur = gap, 0.0
            out.append({"s": round(max(gap, dur), 3), "pid": pid, "dur": dur,
                        "kind": "call" if dur >= gap else "pause before",
                        "call": call.strip()[:110]})
    if first is None:
        return None
    by = {}
    for g in out:
        if not g["dur"]:
            continue
        c = g["call"]
        name = c[5:].split(" ", 1)[0] if c.startswith("<... ") else c.split("(", 1)[0]
        tot = by.setdefault(name, [0, 0.0])
        tot[0] += 1
        tot[1] += g.pop("dur")
    for g in out:
        g.pop("dur", None)
    out.sort(key=lambda g: -g["s"])
    calls = sorted(([k, v[0], round(v[1], 3)] for k, v in by.items()), key=lambda x: -x[2])
    return {"total_s": end - first, "gaps": out[:n], "time_in_calls": calls[:8]}


def fmt_s(s):
    return "—" if s is None else (f"{s:.2f}" if s < 100 else f"{s:.0f}")


def main():
    out, settings, mbps = sys.argv[1], sys.argv[2], float(sys.argv[3])
    raws = sys.argv[4:] or [os.path.join(out, "raw")]
    raw = raws[0]
    recs = [r for d in raws for r in load(os.path.join(d, "raw.tsv"))]
    meta = {}
    if os.path.exists(os.path.join(raw, "meta.tsv")):
        with open(os.path.join(raw, "meta.tsv")) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("\t")
                meta[k] = v
    images = {}
    if os.path.exists(os.path.join(raw, "images.json")):
        with open(os.path.join(raw, "images.json")) as f:
            images = json.load(f)
    throttle = mbps * MIB

    rows = []
    for case, dev, peer, peer_label, bst, kind, limit, what in ROWS:
        if not any(r["case"] == case for r in recs):
            continue
        p = summarize(recs, case, dev, peer) if peer else None
        b = summarize(recs, case, dev, bst)
        row = {"case": case, "what": what, "device": dev, "peer": peer_label,
               "peer_tool": peer, "bootseal_tool": bst, "kind": kind, "limit": limit,
               "peer_result": p, "bootseal_result": b}
        value, verdict, tgt = None, None, "—"
        pok = p is not None and p["status"] == "ok"
        bok = b["status"] == "ok"
        if kind in ("ratio", "multi"):
            base = "peer" if kind == "ratio" else "1 target"
            tgt = f"≤ {limit:g} × {base}" if limit else "— (for reference)"
            if pok and bok:
                value = b["median_s"] / p["median_s"]
        elif kind == "share":
            tgt = f"≥ {limit * 100:g} % of {mbps:g} MiB/s"
            if bok:
                value = b["bytes"] / b["median_s"] / throttle
            if pok:
                row["peer_share"] = p["bytes"] / p["median_s"] / throttle
        elif kind == "rate":
            tgt = f"≥ {limit:g} × peer's rate"
            if pok and bok:
                value = p["median_s"] / b["median_s"]
        elif kind == "rss":
            tgt = f"peak RSS ≤ {limit} MiB"
            if bok and b["peak_rss_kb"] is not None:
                value = b["peak_rss_kb"] / 1024
        if value is not None and limit:
            if kind in ("ratio", "multi"):
                verdict = "pass" if value <= limit else "miss"
            elif kind in ("share", "rate"):
                verdict = "pass" if value >= limit else "miss"
            else:
                verdict = "pass" if value <= limit else "miss"
        elif value is not None:
            verdict = "info"
        elif not bok:
            verdict = "not measured: " + b["status"] if not b["status"].startswith("failed") else b["status"]
        elif p is not None and not pok:
            verdict = "peer " + p["status"]
        if kind == "share" and verdict == "miss" and row.get("peer_share") is not None \
                and row["peer_share"] < limit:
            verdict += f" (the peer reaches {row['peer_share'] * 100:.0f} %)"
        row.update({"value": value, "target": tgt, "verdict": verdict})
        rows.append(row)

    doc = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": settings,
        "command": f"make bench {settings}",
        "environment": meta,
        "images": images,
        "rows": rows,
        "measurements": recs,
    }

    L = []
    L.append("# bootseal benchmark results")
    L.append("")
    L.append(f"Measured {doc['generated']} in the test VM (QEMU TCG), kernel {meta.get('kernel', '?')}, "
             f"{meta.get('cpus', '?')} vCPUs, {meta.get('mem_mb', '?')} MiB.")
    L.append(f"Settings: `{settings}`; raw image {images.get('size_mb', '?')} MiB "
             f"({images.get('raw_random_fraction', 0) * 100:.0f} % random, rest zero), "
             f"sparse image {images.get('sparse_mapped_fraction', 0) * 100:.0f} % mapped, "
             f"throttled cases {images.get('throttle_image_mb', '?')} MiB, "
             f"memory case sparse image {images.get('big_size_mb', '?')} MiB "
             f"({images.get('big_mapped_fraction', 0) * 100:.1f} % mapped).")
    if meta.get("throttled_request_kb"):
        L.append(f"Throttled devices: null_blk mbps={mbps:g} with max_sectors_kb="
                 f"{meta['throttled_request_kb']} for every tool (whole requests fill its 20 ms budget; "
                 "see tests/bench/README.md).")
    L.append(f"Reproduce: `make bench {settings}`.")
    L.append("")
    L.append("Times are medians in seconds of the timed runs (peers and bootseal alternating). "
             "Ratio = bootseal time / peer time, except: throttled rows give bootseal's throughput "
             "as a share of the throttle (the peer's share in brackets), the verify row gives "
             "bootseal's read rate / dd's read rate.")
    L.append("")
    L.append("| # | case | device | peer | peer s | bootseal s | ratio | target | result | bootseal peak RSS |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        p, b = r["peer_result"], r["bootseal_result"]
        ps = "—"
        if p is not None:
            ps = fmt_s(p.get("median_s")) if p["status"] == "ok" else "failed"
            if "peer_share" in r:
                ps += f" ({r['peer_share'] * 100:.0f} %)"
        bs = fmt_s(b.get("median_s")) if b["status"] == "ok" else "—"
        v = r["value"]
        if v is None:
            vs = "—"
        elif r["kind"] == "share":
            vs = f"{v * 100:.0f} %"
        elif r["kind"] == "rss":
            vs = "—"
        else:
            vs = f"{v:.2f}"
        rss = f"{b['peak_rss_kb'] / 1024:.1f} MiB" if b.get("peak_rss_kb") else "—"
        dev = DEVICE_LABEL.get((r["case"], r["device"]), r["device"])
        cells = [r["case"], r["what"], dev, r["peer"] or "—", ps, bs, vs, r["target"], r["verdict"], rss]
        L.append("| " + " | ".join(str(x).replace("|", "\\|") for x in cells) + " |")
    L.append("")
    phase = [r for r in rows if r["bootseal_result"].get("median_write_phase_s") is not None]
    seen = set()
    if phase:
        L.append("Where bootseal's time goes (its own --json summary, medians): the write phase "
                 "runs from the first write to the seal; the rest of the wall time is start-up, "
                 "image opening, sealing, re-reading the partition table and exit.")
        L.append("")
        L.append("| # | device | wall s | write phase s | verify phase s | write-phase rate | other s | timeline (first event of each phase, medians, s) |")
        L.append("|---|---|---|---|---|---|---|---|")
        for r in phase:
            b = r["bootseal_result"]
            key = (r["case"], r["device"], r["bootseal_tool"])
            if key in seen:
                continue
            seen.add(key)
            w, v = b["median_write_phase_s"], b.get("median_verify_phase_s") or 0
            rate = f"{b['bytes'] / w / MIB:.1f} MiB/s" if w else "—"
            if r["kind"] == "rss" and r["case"] == "7big":
                rate = "— (sparse)"
            tl = median_timeline(raws, recs, r["case"], r["device"], r["bootseal_tool"])
            r["bootseal_timeline"] = tl
            tls = ", ".join(f"{n} {x:.2f}" for n, x in tl) or "—"
            L.append(f"| {r['case']} | {DEVICE_LABEL.get((r['case'], r['device']), r['device'])} | {fmt_s(b['median_s'])} | {fmt_s(w)} | {fmt_s(v)} | "
                     f"{rate} | {fmt_s(b['median_s'] - w - v)} | {tls} |")
        L.append("")
    dmp = []
    for case, dev, straight, tool, how in DM_PHASES:
        b = summarize(recs, case, dev, tool)
        p = summarize(recs, case, dev, straight)
        tl = median_timeline(raws, recs, case, dev, tool)
        if b["status"] != "ok" or not tl:
            continue
        ptl = dict(median_timeline(raws, recs, case, dev, straight))
        w, pw = dict(tl).get("created→written"), ptl.get("created→written")
        dmp.append({"case": case, "tool": tool, "how": how, "median_s": b["median_s"],
                    "straight_s": p.get("median_s"), "timeline": tl,
                    "writer_s": w, "straight_writer_s": pw,
                    "writer_ratio": w / pw if w is not None and pw else None})
    if dmp:
        doc["device_mapper_phases"] = dmp
        L.append("Case 10 split at the phase marks (medians, s): start→created is bash and "
                 "`dmsetup create` (with its udev wait; for the staged disk also zeroing and flushing "
                 "the head and the tail), created→written the writer, written→sealed "
                 "`dmsetup message … seal`, →removed `dmsetup remove`. *straight* is the same writer "
                 "straight onto the disk.")
        L.append("")
        L.append("| # | through | wall s | straight s | phases |")
        L.append("|---|---|---|---|---|")
        for d in dmp:
            L.append(f"| {d['case']} | {d['how']} | {fmt_s(d['median_s'])} | {fmt_s(d['straight_s'])} | "
                     + ", ".join(f"{n} {x:.2f}" for n, x in d["timeline"]) + " |")
        L.append("")
        L.append(f"The writer's own time (created→written, medians, s) through the device-mapper disk "
                 f"vs the same marks around the straight writer; target for the staged disk: "
                 f"≤ {STAGED_WRITER_TARGET:g} ×.")
        L.append("")
        L.append("| # | through | writer s | straight writer s | ratio | result |")
        L.append("|---|---|---|---|---|---|")
        for d in dmp:
            r = d["writer_ratio"]
            if r is None:
                verdict = "not measured: no phase marks"
            elif d["how"] != "staged":
                verdict = "info"
            else:
                verdict = "pass" if r <= STAGED_WRITER_TARGET else "miss"
            d["writer_result"] = verdict
            L.append(f"| {d['case']} | {d['how']} | {fmt_s(d['writer_s'])} | {fmt_s(d['straight_writer_s'])} | "
                     + (f"{r:.2f}" if r is not None else "—") + f" | {verdict} |")
        L.append("")
    st = strace_gaps(find_log(raws, "strace-flash.txt"))
    if st:
        doc["strace"] = st
        L.append(f"One untimed `bootseal flash --no-verify` of the raw image to brd under `strace -f -tt -T` "
                 f"(case 8) took {st['total_s']:.2f} s; the largest pauses before a system call "
                 f"(time since the process's previous call) and the slowest calls:")
        L.append("")
        L.append("| s | what | pid | system call (truncated) |")
        L.append("|---|---|---|---|")
        for g in st["gaps"]:
            L.append("| " + " | ".join(str(x).replace("|", "\\|").replace("`", "'")
                                       for x in (f"{g['s']:.3f}", g["kind"], g["pid"], g["call"])) + " |")
        L.append("")
        L.append("Time spent inside system calls, by call (all threads): " +
                 ", ".join(f"{k} {c}× {t:.2f} s" for k, c, t in st["time_in_calls"]) + ".")
        L.append("")
    checks = [x for x in recs if x["run"] == "check"]
    bad = [x for x in checks if x["rc"] != "0"]
    L.append(f"Content checks after the warm-up run (target filled with 0xff first, then compared "
             f"with the image): {len(checks) - len(bad)} of {len(checks)} match.")
    for x in bad:
        L.append(f"* case {x['case']} {x['target']} {x['tool']}: {x['note']}")
    L.append("")
    costs = os.path.join(raw, "costs.txt")
    if os.path.exists(costs):
        with open(costs) as f:
            cost = dict(line.split()[:2] for line in f if len(line.split()) >= 2)
        size_mb = images.get("size_mb", "?")
        L.append(f"What the building blocks cost in this VM (case 9, `bscost`: {size_mb} MiB in 4 MiB "
                 "pieces, best of 3, seconds):")
        L.append("")
        L.append("| block | s | what uses it |")
        L.append("|---|---|---|")
        uses = {
            "device_read_direct": "`dd iflag=direct`, bootseal verify",
            "image_read": "`dd if=IMAGE` (read() into a buffer)",
            "image_map": "bootseal: mapping the raw image instead of reading it",
            "memcmp": "bootseal verify (comparing)",
            "memcpy": "copying, e.g. into the kernel without zero-copy",
        }
        for k, v in cost.items():
            L.append(f"| {k} | {v} | {uses.get(k, '')} |")
        L.append("")
        doc["costs_seconds"] = {k: float(v) for k, v in cost.items()}
    L.append("Tools: " + "; ".join(f"{k}: {meta[k]}" for k in ("xz", "zstd", "bmaptool", "dd", "bootseal")
                                   if k in meta) + ".")
    L.append("")
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(L))
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(doc, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
