"""A report as Markdown tables, as JSON, and as a bar chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from micrograd._extras import install_hint
from micrograd.bench._report import Report
from micrograd.bench._suite import TARGETS, VARIANTS, WORKLOADS, Target, Workload


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _cell(run: dict[str, Any], spec: Workload) -> str:
    if "error" in run:
        return str(run["error"])
    if spec.unit == "bytes":
        return f"{float(run['bytes']):.0f} B"
    return _duration(float(run["seconds"]))


def _times(ratio: float, unit: str, digits: int = 1) -> str:
    """``ratio`` (reference / this) as words: 22.3× faster, 4.1× slower, 6.1× less."""
    better, worse = ("less", "more") if unit == "bytes" else ("faster", "slower")
    if ratio >= 1.0:
        return f"{ratio:.{digits}f}× {better}" if ratio < 100 else f"{ratio:,.0f}× {better}"
    return f"{1 / ratio:.{digits}f}× {worse}"


def _target_value(report: Report, target: Target) -> float | None:
    if target.over is None:
        return report.median(target.workload, target.variant)
    return report.ratio(target.workload, target.variant, target.over)


def _target_met(target: Target, value: float | None) -> str:
    if value is None:
        return "n/a"
    ok = (target.at_least is None or value >= target.at_least) and (
        target.at_most is None or value <= target.at_most
    )
    return "yes" if ok else "**no**"


def markdown(report: Report) -> str:
    """The report as Markdown: the machine, a table of medians and ratios, and the targets."""
    m = report.machine
    mode = ", quick" if report.quick else ""
    lines = [
        f"Measured {m['date']} on {m['platform']}, {m['cpu']}, {m['cpus']} CPUs; {m['python']}; "
        f"micrograd {m['micrograd']}, NumPy {m['numpy']}, PyTorch {m['torch']}; "
        f"{report.rounds} interleaved rounds{mode}; every path on one thread.",
        "",
        "| workload | path | median | runs | vs micrograd 0.1.0 |",
        "|---|---|---:|---:|---:|",
    ]
    seen = {w for w, _ in report.runs}
    for name, spec in WORKLOADS.items():
        if name not in seen:
            continue
        for i, variant in enumerate(spec.variants):
            runs = report.runs.get((name, variant), [])
            value = report.median(name, variant)
            cell = _cell({spec.unit: value}, spec) if value is not None else "—"
            error = report.error(name, variant)
            if value is None and error is not None:
                cell = error
            ratio = report.ratio(name, "ref", variant) if variant != "ref" else None
            if "ref" not in spec.variants:
                versus = ""
            elif report.median(name, "ref") is None:
                versus = "" if variant == "ref" else "0.1.0 cannot"
            elif variant == "ref":
                versus = "baseline"
            else:
                versus = "—" if ratio is None else _times(ratio, spec.unit)
            title = spec.title if i == 0 else ""  # a workload's name heads its first row only
            lines.append(f"| {title} | {VARIANTS[variant]} | {cell} | {len(runs)} | {versus} |")
    lines += ["", "| target | measured | goal | met |", "|---|---:|---|---|"]
    for target in TARGETS:
        if target.workload not in seen:
            continue
        value = _target_value(report, target)
        if value is None:
            shown = "n/a"
        elif target.over is None:
            shown = _cell({WORKLOADS[target.workload].unit: value}, WORKLOADS[target.workload])
        else:  # two decimals: 2.96× must not read as a met "3.0×" (met is decided unrounded)
            shown = _times(value, WORKLOADS[target.workload].unit, digits=2)
        lines.append(f"| {target.title} | {shown} | {target.goal} | {_target_met(target, value)} |")
    notes = []
    for name in ("seed002", "moons_step"):
        spread = report.check_spread(name) if name in seen else None
        if spread is not None:
            notes.append(f"{name}: the paths' results differ by at most {spread:.1e} (relative)")
    if notes:
        lines += ["", "Same numbers on every path: " + "; ".join(notes) + "."]
    return "\n".join(lines) + "\n"


def to_json(report: Report) -> dict[str, Any]:
    """The report as plain data: machine, every run, medians, ratios and targets."""
    cells = []
    for (name, variant), runs in report.runs.items():
        cells.append(
            {
                "workload": name,
                "variant": variant,
                "runs": runs,
                "median": report.median(name, variant),
                "vs_reference": report.ratio(name, "ref", variant) if variant != "ref" else None,
            }
        )
    seen = {w for w, _ in report.runs}
    targets = []
    for target in TARGETS:
        value = _target_value(report, target) if target.workload in seen else None
        targets.append({"target": target.title, "goal": target.goal, "value": value})
    return {
        "machine": report.machine,
        "rounds": report.rounds,
        "quick": report.quick,
        "results": cells,
        "targets": targets,
    }


def save_plot(report: Report, path: Path) -> None:
    """A bar chart (log scale) of how many times faster or smaller than micrograd 0.1.0."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(f"--plot needs matplotlib: {install_hint('plot')}") from exc
    labels, ratios = [], []
    for name, spec in WORKLOADS.items():
        for variant in spec.variants:
            ratio = report.ratio(name, "ref", variant) if variant != "ref" else None
            if ratio is not None:
                labels.append(f"{name}: {VARIANTS[variant].replace('`', '')}")
                ratios.append(ratio)
    fig = Figure(figsize=(8, 0.45 * len(labels) + 1.5), layout="constrained")
    ax = fig.add_subplot()
    colors = ["tab:green" if x >= 1 else "tab:red" for x in ratios]
    # Bars grow from 1× (as good as micrograd 0.1.0): right when better, left when worse.
    ax.barh(range(len(labels)), [x - 1.0 for x in ratios], left=1.0, color=colors)
    for i, x in enumerate(ratios):
        text = f"{x:,.0f}×" if x >= 100 else f"{x:.2g}×" if x >= 1 else f"{1 / x:.2g}× worse"
        # Beyond the bar's end, or just right of 1× for a bar that points left.
        ax.annotate(text, (max(x, 1.0), i), xytext=(3, 0), textcoords="offset points", va="center")
    ax.set_xlim(min(0.5, min(ratios) / 1.5), max(ratios) * 10)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("× micrograd 0.1.0 (time or bytes; > 1 is better)")
    ax.set_title(f"micrograd bench, {report.machine['date']}")
    fig.savefig(path)
