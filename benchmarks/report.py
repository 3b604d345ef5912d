"""The benchmark's outputs: zoo/reference ratios, the absolute numbers, a markdown table and a PNG bar chart.

Pure Python and Pillow: no framework is imported, so the report can be
rebuilt from a results JSON (`python benchmarks/report.py results.json`).
"""

import json
import sys
from collections import Counter
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from zoo.io import write_atomic

TARGET = 0.9  # the target: each zoo backend >= 0.9x the hand-written reference in its framework
REFERENCE = {"torch": "torch", "jax": "jax", "tensorflow": "keras_io"}  # zoo backend -> reference implementation
REFERENCE_NAME = {"torch": "plain PyTorch", "jax": "plain JAX", "keras_io": "keras-io TF train_step"}
BAR_ORDER = [("zoo", "tensorflow"), ("keras_io", "tensorflow"), ("zoo", "jax"), ("jax", "jax"),
             ("zoo", "torch"), ("torch", "torch")]
SHORT = {("zoo", "tensorflow"): "zoo\nTF", ("keras_io", "tensorflow"): "keras-io\nTF", ("zoo", "jax"): "zoo\nJAX",
         ("jax", "jax"): "JAX\nref", ("zoo", "torch"): "zoo\ntorch", ("torch", "torch"): "torch\nref"}
COLOURS = {"tensorflow": (255, 127, 14), "jax": (44, 160, 44), "torch": (214, 39, 40)}


def label(record):
    if record["impl"] == "zoo":
        return f"zoo {record['backend']}"
    return {"keras_io": "keras-io TF", "torch": "PyTorch ref", "jax": "JAX ref"}[record["impl"]]


def _ok(record):
    return "error" not in record


def _rate(record, mode):
    return record.get(mode, {}).get("steps_per_s") if record and _ok(record) else None


def ratio_rows(records):
    """One row per zoo measurement of the main and scaling groups: zoo steps/s over its reference's, fit and step."""
    by_key = {(r["model"], r["batch_size"], r["impl"], r["backend"]): r for r in records
              if r.get("variant", "default") == "default"}
    rows = []
    for (model, batch, impl, backend), zoo in sorted(by_key.items()):
        if impl != "zoo":
            continue
        ref_impl = REFERENCE[backend]
        ref = by_key.get((model, batch, ref_impl, backend))  # each reference runs on the framework it stands for
        row = {"model": model, "batch_size": batch, "backend": backend, "reference": ref_impl,
               "input_share": zoo.get("input_share") if _ok(zoo) else None}
        for mode in ("fit", "step"):
            z, r = _rate(zoo, mode), _rate(ref, mode)
            row[f"{mode}_zoo"], row[f"{mode}_reference"] = z, r
            row[f"{mode}_ratio"] = z / r if z and r else None
        row["meets_target"] = None if row["fit_ratio"] is None else row["fit_ratio"] >= TARGET
        rows.append(row)
    return rows


def _f(value, digits=2):
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def _iqr(record, mode):
    if not record or not _ok(record) or mode not in record:
        return "-"
    m = record[mode]
    return f"{m['steps_per_s']:.2f} ({m['q1']:.2f}-{m['q3']:.2f})"


def _settings(record):
    s = record.get("settings", {})
    parts = []
    if "jit_compile" in s:
        parts.append(f"jit={'on' if s['jit_compile'] else 'off'}")
    if s.get("steps_per_execution", 1) != 1:
        parts.append(f"spe={s['steps_per_execution']}")
    if s.get("data", "numpy") != "numpy":
        parts.append(s["data"])
    if s.get("precision", "float32") != "float32":
        parts.append(s["precision"])
    if "mode" in s:
        parts.append(s["mode"])
    return ", ".join(parts)


def markdown(summary):
    records = summary["records"]
    machine = summary["machine"]
    versions = {}
    for r in records:
        versions.update(r.get("versions", {}))
    lines = [
        f"# Training throughput: the zoo against hand-written loops ({summary['name']})",
        "",
        (f"Commit `{summary['commit']}`, {summary['created']}, `{summary['command']}`, "
        f"{summary['wall_seconds']:.0f} s for {summary.get('measured', len(records))} measurements, each in its own "
        "process."),
        "",
    ]
    lines += merged_from(summary)
    lines += [
        f"Machine: {machine['cpu']}, {machine['cores_usable']} usable cores ({summary['threads']} threads per "
        f"process, pinned), {machine['memory_gb']} GB, {machine['os']}, Python {machine['python']}; device "
        f"`{summary['device']}`{' (' + summary['gpu'] + ')' if summary.get('gpu') else ''}. "
        + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) + ". " + _busy_at_start(machine),
        "",
    ]
    if summary.get("quick"):
        lines += [("**Quick run**: few and short repetitions, on a machine that may be busy with other work. "
                  "It shows that every implementation runs and is measured; its numbers are not the speed."), ""]
    if summary.get("contended"):
        busy = machine.get("cpu_busy")
        cores = machine["cores_usable"]
        before = (f"other processes kept {100 * busy['share']:.0f}% of the {cores} cores busy just before the run"
                  if busy else f"the load average was {machine['load_average'][0]} before the run on {cores} cores")
        lines += [f"**Contended**: {before}, so they shared the CPU; ratios are noisy.", ""]
    lines += [
        f"## Zoo / reference, steps per second (target >= {TARGET})",
        "",
        ("`fit`: the loop a user runs (zoo and keras-io: `model.fit` on numpy arrays; PyTorch and JAX: a "
        "hand-written loop over shuffled numpy slices). `step`: the compiled train step alone on batches "
        "already on the device. Input share: the zoo's `fit` input pipeline alone, as a share of its `fit` time."),
        "",
        ("| Model | Batch | Zoo backend | Reference | fit: zoo | fit: ref | **fit ratio** | step: zoo | step: ref "
        "| step ratio | zoo input share |"),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in summary["ratios"]:
        mark = "" if row["meets_target"] is None else (" ok" if row["meets_target"] else " **below**")
        lines.append(
            f"| {row['model']} | {row['batch_size']} | {row['backend']} | {REFERENCE_NAME[row['reference']]} | "
            f"{_f(row['fit_zoo'])} | {_f(row['fit_reference'])} | {_f(row['fit_ratio'])}{mark} | "
            f"{_f(row['step_zoo'])} | {_f(row['step_reference'])} | {_f(row['step_ratio'])} | "
            f"{_f(None if row['input_share'] is None else 100 * row['input_share'], 1)}% |")
    lines += [
        "",
        "## Absolute numbers",
        "",
        ("Median steps/s over the repetitions (interquartile range); warm-up and compilation excluded. "
        "Peak RSS: the process's peak resident memory, framework included."),
        "",
        ("| Model | Batch | Implementation | Settings | step steps/s | fit steps/s | fit images/s | input share "
        "| peak RSS MB | device peak MB | parameters |"),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(records, key=lambda r: (r["model"], r["batch_size"], r.get("variant", ""), label(r))):
        if not _ok(r):
            lines.append(f"| {r['model']} | {r['batch_size']} | {label(r)} | {r.get('variant', '')} | "
                         f"failed: {r['error'][:80]} | | | | | | |")
            continue
        fit = r.get("fit", {})
        lines.append(
            f"| {r['model']} | {r['batch_size']} | {label(r)} | {_settings(r)} | {_iqr(r, 'step')} | {_iqr(r, 'fit')} "
            f"| {_f(fit.get('images_per_s'), 0)} | {_f(None if r.get('input_share') is None else 100 * r['input_share'], 1)}% "
            f"| {r['peak_rss_mb']:.0f} | {_f(r.get('device_peak_mb'), 0)} | {sum(r['params'].values()):,} |")
    lines += _scaling(records) + _options(records) + _notes(summary)
    return "\n".join(lines) + "\n"


def _scaling(records):
    scaled = [r for r in records if r.get("group") == "scaling" or r.get("group") == "main"]
    models = sorted({r["model"] for r in scaled if r["model"] in ("vae", "wgan_gp")})
    batches = sorted({r["batch_size"] for r in scaled if r["model"] in models})
    if len(batches) < 2:
        return []
    lines = ["", "## Steps/s against batch size (`fit`)", "",
             "| Model | Implementation | " + " | ".join(str(b) for b in batches) + " |",
             "|---|---|" + "---|" * len(batches)]
    for model in models:
        for impl, backend in BAR_ORDER:
            cells = []
            for b in batches:
                r = next((r for r in scaled if (r["model"], r["batch_size"], r["impl"], r["backend"])
                          == (model, b, impl, backend) and r.get("variant", "default") == "default"), None)
                cells.append(_f(_rate(r, "fit")))
            if any(c != "-" for c in cells):
                lines.append(f"| {model} | {label({'impl': impl, 'backend': backend})} | " + " | ".join(cells) + " |")
    return lines


def _options(records):
    variants = [r for r in records if r.get("group") == "options"]
    if not variants:
        return []
    lines = ["", "## Options that matter for speed (`fit` steps/s against the default settings)", "",
             "| Model | Implementation | Option | fit steps/s | step steps/s | vs default (fit) |",
             "|---|---|---|---|---|---|"]
    for r in sorted(variants, key=lambda r: (r["model"], label(r), r["variant"])):
        default = next((d for d in records if d.get("variant", "default") == "default"
                        and (d["model"], d["batch_size"], d["impl"], d["backend"])
                        == (r["model"], r["batch_size"], r["impl"], r["backend"])), None)
        base, value = _rate(default, "fit"), _rate(r, "fit")
        lines.append(f"| {r['model']} | {label(r)} | {r['variant']} | {_iqr(r, 'fit')} | {_iqr(r, 'step')} | "
                     f"{_f(value / base if base and value else None)} |")
    return lines


def _busy_at_start(machine):
    busy = machine.get("cpu_busy")
    if not busy:  # results written before cpu_busy was measured
        return f"Load average at the start: {machine['load_average']}."
    over = f" over {busy['seconds']} s" if busy.get("seconds") else ""
    return (f"Other processes' share of the cores at the start: {100 * busy['share']:.0f}% ({busy['source']}{over}; "
            f"load average {machine['load_average']}).")


def _notes(summary):
    lines = ["", "## Notes", ""]
    lines += [f"- Not measured: {note}." for note in summary.get("missing", [])]
    lines += [f"- {note}" for note in summary.get("notes", [])]
    threshold = summary.get("busy_share")
    shared = [r for r in summary["records"] if threshold is not None and _ok(r)
              and (r.get("cpu_busy") or 0) > threshold]
    if shared:
        lines.append(f"- Other processes used more than {100 * threshold:.0f}% of the cores while these measured "
                     "(their numbers are low): " + ", ".join(
                         f"{r['model']} b{r['batch_size']} {label(r)}"
                         f"{'' if r.get('variant', 'default') == 'default' else ' ' + r['variant']} "
                         f"({100 * r['cpu_busy']:.0f}%)" for r in shared) + ".")
    return lines


def plot(summary, path):
    """Bar chart of `fit` steps/s per implementation, one panel per (model, batch) of the main group."""
    records = [r for r in summary["records"] if r.get("group", "main") == "main" and _ok(r)]
    panels = sorted({(r["model"], r["batch_size"]) for r in records})
    if not panels:
        return None
    panel_w, panel_h, top, bottom, left = 400, 300, 60, 70, 20
    width = max(760, left + panel_w * len(panels) + 20)
    image, draw, font, small = canvas(
        width, top + panel_h + bottom,
        f"Training steps/s with fit, per implementation ({summary['name']}, {summary['device']}, "
        f"{summary['threads']} threads)",
        "solid: the zoo on each Keras backend; hatched: that framework's hand-written reference")
    for p, (model, batch) in enumerate(panels):
        x0 = left + p * panel_w + 10
        bars = []
        for impl, backend in BAR_ORDER:
            r = next((r for r in records if (r["model"], r["batch_size"], r["impl"], r["backend"])
                      == (model, batch, impl, backend)), None)
            bars.append((impl, backend, _rate(r, "fit")))
        top_value = max([v for _, _, v in bars if v] or [1.0]) * 1.15
        base_y = top + panel_h
        draw.line((x0, base_y, x0 + panel_w - 30, base_y), fill="black")
        bar_w = (panel_w - 40) // len(bars)
        for i, (impl, backend, value) in enumerate(bars):
            bx = x0 + 5 + i * bar_w
            if value:
                h = int((panel_h - 30) * value / top_value)
                colour = COLOURS[backend]
                if impl == "zoo":
                    draw.rectangle((bx, base_y - h, bx + bar_w - 8, base_y), fill=colour)
                else:
                    draw.rectangle((bx, base_y - h, bx + bar_w - 8, base_y), outline=colour, width=2)
                    for y in range(base_y - h + 4, base_y, 6):
                        draw.line((bx + 2, y, bx + bar_w - 10, y), fill=colour)
                draw.text((bx, base_y - h - 16), f"{value:.2f}", fill="black", font=small)
            else:
                draw.text((bx, base_y - 16), "n/a", fill=(150, 150, 150), font=small)
            name = SHORT[(impl, backend)]
            draw.multiline_text((bx, base_y + 6), name, fill="black", font=small, spacing=1)
        draw.text((x0, base_y + 44), f"{model}, batch {batch}", fill="black", font=font)
    return save_png(image, path)


def canvas(width, height, title, subtitle=None, left=20):
    """A white picture with a title (and a grey subtitle) at its top: `(image, draw, font, small font)`."""
    font, small = ImageFont.load_default(size=15), ImageFont.load_default(size=12)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((left, 10), title, fill="black", font=font)
    if subtitle:
        draw.text((left, 32), subtitle, fill=(90, 90, 90), font=small)
    return image, draw, font, small


def save_png(image, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def merged_from(summary):
    """The lines naming the earlier runs a `--merge` run kept measurements of (none otherwise). A run is its
    commit and start time: two runs at one commit are two runs."""
    records = summary["records"]
    runs = Counter((r.get("commit"), r.get("created")) for r in records if r.get("commit") is not None)
    earlier = sorted(run for run in runs if run != (summary["commit"], summary.get("created")))
    if not earlier:
        return []
    text = "; ".join(f"{runs[c, d]} measurement{'s' * (runs[c, d] != 1)} at commit `{c}`, {d}" for c, d in earlier)
    return [f"Merged with earlier runs on this machine (`--merge`): {text}.", ""]


def write(summary, stem):
    """`<stem>.json`, `<stem>.md` and `<stem>.png`; returns the markdown."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    summary["ratios"] = ratio_rows(summary["records"])
    write_atomic(stem.with_suffix(".json"), json.dumps(summary, indent=2, sort_keys=True) + "\n")
    text = markdown(summary)
    write_atomic(stem.with_suffix(".md"), text)
    plot(summary, stem.with_suffix(".png"))
    return text


def ratio_table(summary):
    """The ratio table alone, for the terminal."""
    text = markdown(summary)
    start = text.index("## Zoo / reference")
    return text[start:text.index("## Absolute numbers")].rstrip()


if __name__ == "__main__":
    source = Path(sys.argv[1])
    data = json.loads(source.read_text())
    print(write(data, source.with_suffix("")))
