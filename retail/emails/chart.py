"""The one chart of a weekly email: units sold per week (bars), then the forecast (a line in its band).

matplotlib's Agg canvas without pyplot (pyplot keeps global state and leaks in long-running processes).
One `WeeklyChart` is built once per batch and its artists are updated for each email (bar heights, the
line's data, the band's outline, two labels) instead of building a figure each time; the canvas is drawn
and encoded by Pillow as a 16-colour palette PNG at compression level 1. About 3.5 ms and 1.5-3 KB a
chart on this machine (docs/emails.md). The chart carries only numbers and dates (no CJK glyphs needed);
its title and alternative text are in the email, in the reader's language.
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

import matplotlib

matplotlib.use("Agg")  # no display, whatever the environment says

import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import PathPatch, Polygon  # noqa: E402
from matplotlib.path import Path  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

BAR, LINE, BAND, INK = "#9db4c0", "#1f4e79", "#c9dcea", "#555555"
WIDTH_PX, HEIGHT_PX, DPI = 560, 180, 80
AXES = (0.01, 0.13, 0.98, 0.76)  # left, bottom, width, height: room for the labels above and below
INK_RGB = (0x55, 0x55, 0x55)


class WeeklyChart:
    """Reusable: `render(history, band)` -> PNG bytes. Not thread-safe (one per batch or per request).

    Five artists only (all bars are one compound path, the band one polygon, the mean one line, two rules)
    and no matplotlib text: its text layout was half of a chart's time. The four labels (first week, the
    first forecast week, the last one, the scale) are drawn by Pillow on the finished image."""

    def __init__(self, history_weeks: int = 13, forecast_weeks: int = 13):
        self.n_hist, self.n_fc = history_weeks, forecast_weeks
        self.figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor="white")
        self.canvas = FigureCanvasAgg(self.figure)
        ax = self.figure.add_axes(AXES)
        ax.set_axis_off()
        ax.set_xlim(-0.7, history_weeks + forecast_weeks - 0.3)
        x = np.arange(history_weeks + forecast_weeks)
        self.x_hist, self.x_fc = x[:history_weeks], x[history_weeks:]
        codes = np.tile([Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY], history_weeks)
        self.bar_vertices = np.zeros((5 * history_weeks, 2))
        left = np.repeat(self.x_hist - 0.4, 5) + np.tile([0, 0, 0.8, 0.8, 0], history_weeks)
        self.bar_vertices[:, 0] = left
        self.bars = PathPatch(Path(self.bar_vertices, codes), facecolor=BAR, edgecolor="none")
        ax.add_patch(self.bars)
        self.band = Polygon(np.zeros((2 * forecast_weeks, 2)), closed=True, facecolor=BAND, edgecolor="none")
        ax.add_patch(self.band)
        (self.line,) = ax.plot(self.x_fc, np.zeros(forecast_weeks), color=LINE, linewidth=2)
        ax.axvline(history_weeks - 0.5, color=INK, linewidth=0.6, linestyle=":")
        ax.axhline(0, color=INK, linewidth=0.6)
        self.axes = ax
        self.font = ImageFont.load_default(size=11)

    def render(self, history: Sequence[tuple[date, int]], band: Sequence[tuple[date, float, float, float]]) -> bytes:
        """history: (week, units) oldest first; band: (week, low, mean, high) from the first forecast week."""
        units = np.zeros(self.n_hist)
        hist = list(history)[-self.n_hist:]
        units[self.n_hist - len(hist):] = [u for _, u in hist]
        fc = list(band)[:self.n_fc]
        low, mean, high = (np.zeros(self.n_fc) for _ in range(3))
        for i, (_, lo, m, hi) in enumerate(fc):
            low[i], mean[i], high[i] = lo, m, max(hi, m)
        if len(fc) < self.n_fc:  # a shorter run: hold the last values (or zeros)
            for arr in (low, mean, high):
                arr[len(fc):] = arr[len(fc) - 1] if fc else 0
        heights = np.repeat(units, 5) * np.tile([0, 1, 1, 0, 0], self.n_hist)
        self.bar_vertices[:, 1] = heights
        self.bars.get_path().vertices[:, 1] = heights
        self.line.set_ydata(mean)
        self.band.set_xy(np.column_stack([np.r_[self.x_fc, self.x_fc[::-1]], np.r_[high, low[::-1]]]))
        top = max(float(units.max(initial=0)), float(high.max(initial=0)), 1.0)
        self.axes.set_ylim(0, top * 1.05)
        self.canvas.draw()
        image = Image.frombuffer("RGBA", self.canvas.get_width_height(), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        image = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
        draw = ImageDraw.Draw(image)
        ink = image.palette.getcolor(INK_RGB, image) if hasattr(image.palette, "getcolor") else 0
        y = HEIGHT_PX - 16
        split = int(WIDTH_PX * (AXES[0] + AXES[2] * (self.n_hist - 0.2) / (self.n_hist + self.n_fc)))
        labels = [(4, hist[0][0].strftime("%m-%d") if hist else "", "la"),
                  (split, fc[0][0].strftime("%m-%d") if fc else "", "ma"),
                  (WIDTH_PX - 4, fc[-1][0].strftime("%m-%d") if fc else "", "ra")]
        for x, text, anchor in labels:
            if text:
                draw.text((x, y), text, fill=ink, font=self.font, anchor=anchor)
        draw.text((4, 2), f"{top:,.0f}" if top >= 10 else f"{top:.1f}", fill=ink, font=self.font, anchor="la")
        out = io.BytesIO()
        image.save(out, "PNG", compress_level=1)
        return out.getvalue()
