"""A settlement statement as CSV and as PDF (issue 15). Labels come translated from the view.

CSV: a cell that a spreadsheet would run as a formula (text starting with = + - @, a tab or a carriage return)
is prefixed with ' ; plain numbers (-200.00) stay numbers. PDF: reportlab with its built-in CID fonts
(STSong-Light for Simplified Chinese and English, MSung-Light for Traditional Chinese), so Chinese store names
and labels render with no font file.
"""
from __future__ import annotations

import csv
import io
import re

from retail.clock import as_utc

_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
FONTS = {"zh_Hant": "MSung-Light"}
DEFAULT_FONT = "STSong-Light"


def cell(value) -> str:
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def _line_cells(line: dict) -> list:
    item = line.get("sku") or line.get("ref") or ""
    return [line["kind"], item, line.get("day", ""), line.get("due_on", ""), line.get("unit_price", ""),
            line.get("rate", ""),
            line.get("units", ""), line.get("amount", ""), line.get("store_share", ""), line.get("platform_share", "")]


def statement_csv(statement, store, labels: dict[str, str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def row(values):
        writer.writerow([cell(v) for v in values])

    row([labels["number"], statement.number])
    row([labels["store"], f"{store.code} {store.name}"])
    row([labels["month"], f"{statement.month:%Y-%m}"])
    row([labels["sequence"], statement.sequence])
    row([labels["model"], labels.get(f"model.{statement.model}", statement.model)])
    row([labels["currency"], statement.currency])
    row([labels["versions"], " ".join(str(v) for v in statement.agreement_versions)])
    row([])
    row([labels[k] for k in ("kind", "item", "day", "due_on", "unit_price", "rate", "units", "amount",
                             "store_share", "platform_share")])
    for line in statement.lines:
        cells = _line_cells(line)
        cells[0] = labels.get(f"kind.{line['kind']}", line["kind"])
        row(cells)
    row([])
    row([labels["totals"]])
    for key, value in statement.totals.items():
        row([labels.get(f"total.{key}", key), value])
    return buffer.getvalue()


def statement_pdf(statement, store, labels: dict[str, str], *, language: str = "zh_Hans") -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    font = FONTS.get(language, DEFAULT_FONT)
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    title = ParagraphStyle("title", fontName=font, fontSize=15, leading=20)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=14 * mm, rightMargin=14 * mm, topMargin=14 * mm,
                            bottomMargin=14 * mm, title=statement.number, author="retail")
    heading = labels["title"] if statement.sequence == 1 else labels["adjusting"]
    issued = as_utc(statement.issued_at)
    story = [Paragraph(f"{heading} {statement.number}", title), Spacer(0, 4 * mm)]
    facts = [[labels["store"], f"{store.code} {store.name}"], [labels["month"], f"{statement.month:%Y-%m}"],
             [labels["sequence"], str(statement.sequence)],
             [labels["reported_in"], f"{statement.reported_in:%Y-%m}"],
             [labels["model"], labels.get(f"model.{statement.model}", statement.model)],
             [labels["currency"], statement.currency],
             [labels["versions"], " ".join(str(v) for v in statement.agreement_versions)],
             [labels["issued"], f"{issued:%Y-%m-%d %H:%M} UTC"]]
    story.append(_table(facts, font, header=False))
    story.append(Spacer(0, 5 * mm))
    head = [labels[k] for k in ("kind", "item", "day", "due_on", "unit_price", "rate", "units", "amount",
                                "store_share", "platform_share")]
    rows = []
    for line in statement.lines:
        cells = [str(c) for c in _line_cells(line)]
        cells[0] = labels.get(f"kind.{line['kind']}", line["kind"])
        rows.append(cells)
    story.append(_table([head, *rows], font, header=True, colors=colors))
    story.append(Spacer(0, 5 * mm))
    story.append(Paragraph(labels["totals"], body))
    story.append(_table([[labels.get(f"total.{k}", k), str(v)] for k, v in statement.totals.items()], font,
                        header=False))
    doc.build(story)
    return buffer.getvalue()


def _table(rows, font, *, header: bool, colors=None):
    from reportlab.platypus import Table, TableStyle

    table = Table(rows, hAlign="LEFT", repeatRows=1 if header else 0)
    style = [("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 8),
             ("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
             ("TOPPADDING", (0, 0), (-1, -1), 2)]
    if header and colors is not None:
        style += [("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                  ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey), ("ALIGN", (4, 1), (-1, -1), "RIGHT")]
    table.setStyle(TableStyle(style))
    return table
