"""Charts as inline SVG, drawn by matplotlib (object API: no pyplot state, no GUI backend)."""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Sequence
from datetime import date

import matplotlib
from matplotlib.dates import AutoDateLocator, num2date
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
PLATFORM_COLOURS = {"facebook": "#0072B2", "instagram": "#CC79A7", "youtube": "#D55E00", "snapchat": "#E6C200"}
_ids = itertools.count(1)

_RC = {
    "svg.fonttype": "none",  # text stays text: small, sharp and searchable; the page's font draws it
    "svg.hashsalt": "socialpulse",  # deterministic ids
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


MONTHS = {
    "sv": ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}


def _date_axis(ax, lang: str, maxticks: int = 8) -> None:
    """Dates as '17 okt' / '17 Oct' in the report's language (strftime would follow the C locale)."""
    months = MONTHS.get(lang, MONTHS["en"])

    def label(value, _pos):
        d = num2date(value)
        return f"{d.day} {months[d.month - 1]}" + (f"\n{d.year}" if d.month == 1 and d.day <= 7 else "")

    ax.xaxis.set_major_locator(AutoDateLocator(maxticks=maxticks))
    ax.xaxis.set_major_formatter(FuncFormatter(label))


def _thousands(lang: str) -> FuncFormatter:
    sep = "\u202f" if lang == "sv" else ","
    return FuncFormatter(lambda v, _pos: f"{v:,.0f}".replace(",", sep))


def _svg(fig: Figure, chart_id: str, title: str) -> str:
    """The figure as an <svg> element with ids unique within the page."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    prefix = f"c{next(_ids)}-"
    text = re.sub(r'id="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", text)
    text = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', text)
    text = text.replace("<svg ", f'<svg data-chart="{chart_id}" role="img" aria-label="{_attr(title)}" ', 1)
    return text


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _figure(height: float = 3.4) -> Figure:
    return Figure(figsize=(9.6, height), dpi=100, layout="constrained")


def line_chart(chart_id: str, title: str, series: dict[str, tuple[Sequence[date], Sequence[float]]], lang: str,
               colours: dict[str, str] | None = None, dashed: set[str] | None = None) -> str:
    """One line per series over dates."""
    with matplotlib.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        for i, (label, (xs, ys)) in enumerate(series.items()):
            colour = (colours or {}).get(label, PALETTE[i % len(PALETTE)])
            ax.plot(list(xs), [float("nan") if y is None else y for y in ys], label=label, color=colour,
                    linewidth=2, linestyle="--" if dashed and label in dashed else "-")
        _date_axis(ax, lang)
        ax.yaxis.set_major_formatter(_thousands(lang))
        ax.set_title(title, loc="left", fontsize=11)
        if len(series) > 1:
            fig.legend(frameon=False, ncols=min(len(series), 4), loc="outside upper right")
        return _svg(fig, chart_id, title)


def grouped_bars(chart_id: str, title: str, categories: Sequence[str], groups: dict[str, Sequence[float | None]],
                 lang: str, colours: dict[str, str] | None = None, percent: bool = False) -> str:
    """Vertical bars, one group of bars per category."""
    with matplotlib.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        n = max(len(groups), 1)
        width = 0.8 / n
        for i, (label, values) in enumerate(groups.items()):
            xs = [c + (i - (n - 1) / 2) * width for c in range(len(categories))]
            colour = (colours or {}).get(label, PALETTE[i % len(PALETTE)])
            ax.bar(xs, [0 if v is None else v for v in values], width=width, label=label, color=colour)
        ax.set_xticks(range(len(categories)), list(categories))
        ax.axhline(0, color="#444", linewidth=0.8)
        if percent:
            ax.yaxis.set_major_formatter(FuncFormatter(
                lambda v, _p: (f"{v * 100:.0f}\u00a0%" if lang == "sv" else f"{v * 100:.0f}%")))
        else:
            ax.yaxis.set_major_formatter(_thousands(lang))
        ax.set_title(title, loc="left", fontsize=11)
        if len(groups) > 1:
            fig.legend(frameon=False, ncols=min(len(groups), 4), loc="outside upper right")
        return _svg(fig, chart_id, title)


def horizontal_bars(chart_id: str, title: str, categories: Sequence[str], values: Sequence[float | None],
                    lang: str) -> str:
    """One horizontal bar per category (negative values in another colour)."""
    with matplotlib.rc_context(_RC):
        fig = _figure(height=max(2.2, 0.42 * len(categories) + 1.0))
        ax = fig.add_subplot()
        vals = [0 if v is None else v for v in values]
        ax.barh(range(len(categories)), vals, color=[PALETTE[0] if v >= 0 else PALETTE[5] for v in vals])
        ax.set_yticks(range(len(categories)), list(categories))
        ax.invert_yaxis()
        ax.axvline(0, color="#444", linewidth=0.8)
        ax.xaxis.set_major_formatter(_thousands(lang))
        ax.set_title(title, loc="left", fontsize=11)
        return _svg(fig, chart_id, title)


def small_multiples(chart_id: str, title: str, series: dict[str, tuple[Sequence[date], Sequence[float]]],
                    lang: str) -> str:
    """One panel per series side by side, sharing the date axis (for measures of different scale)."""
    with matplotlib.rc_context(_RC):
        fig = _figure(height=3.0)
        axes = fig.subplots(1, max(len(series), 1), sharex=True, squeeze=False)[0]
        for i, (ax, (label, (xs, ys))) in enumerate(zip(axes, series.items(), strict=False)):
            ax.plot(list(xs), [float("nan") if y is None else y for y in ys], color=PALETTE[i % len(PALETTE)],
                    linewidth=2)
            _date_axis(ax, lang, maxticks=5)
            ax.yaxis.set_major_formatter(_thousands(lang))
            ax.set_title(label, loc="left", fontsize=10)
        fig.suptitle(title, x=0.01, ha="left", fontsize=11)
        return _svg(fig, chart_id, title)
