"""The PNG chart of `rag eval`: pipeline and baselines side by side on the main metrics."""

from __future__ import annotations

from pathlib import Path

from rag.evaluate.summary import Summary

MAIN = ("hit", "recall", "mrr", "ndcg", "precision")


def draw(summary: Summary, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: render straight to the file
    import matplotlib.pyplot as plt

    split_name = "test" if "test" in summary.splits else next(iter(summary.splits))
    split = summary.splits[split_name]
    systems = split.systems
    names = list(systems)
    fig, (quality, speed) = plt.subplots(1, 2, figsize=(11, 4.2),
                                         gridspec_kw={"width_ratios": [3, 1]})
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        overall = systems[name].overall
        values = [overall.get(m) or 0.0 for m in MAIN]
        bars = quality.bar([x + i * width for x in range(len(MAIN))], values, width, label=name)
        quality.bar_label(bars, fmt="%.2f", fontsize=7)
    quality.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(MAIN))],
                       [f"{m}@{summary.k}" if m != "mrr" else "MRR" for m in MAIN])
    quality.set_ylim(0, 1.1)
    quality.set_title(f"Retrieval quality, {split_name} split, "
                      f"{split.questions.answerable} answerable questions")
    quality.legend(fontsize=8, loc="upper right")
    p50 = [systems[n].overall.get("retrieve_p50_ms", systems[n].overall.get("latency_p50_ms"))
           or 0.0 for n in names]
    speed.bar(names, p50, color=[f"C{i}" for i in range(len(names))])
    speed.set_title("Retrieval latency p50 (ms)")
    speed.tick_params(axis="x", labelrotation=20, labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
