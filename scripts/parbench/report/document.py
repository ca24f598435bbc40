"""The report as blocks (headings, text, bullets, tables, images) written out as Markdown and as
one HTML page; values made inert on the way (no link, tag or table cell from data)."""
from __future__ import annotations

import base64
import contextlib
import html
import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ..util import read_regular_bytes


MD_TABLE_ROWS = 4  # rows of a long table shown in report.md (0: none); report.html and the CSV have them all
OPEN_SECTIONS = 3  # report.html opens the summary, the verdicts and scaling; the rest open on demand


# Link targets a report may hold: http(s), a relative path or an in-page anchor. Anything with
# another scheme (javascript:, data:, vbscript:, file:, in any case, with tabs, newlines or
# character references inside, as browsers and Markdown viewers read them) is dropped.
_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*:")
_SAFE_SCHEMES = ("http", "https")


def safe_link_target(target: str) -> bool:
    """Whether a link target (as written, entities and all) is inert: http(s), relative, #.
    Judged as a viewer may read it: character references decoded, backslash escapes and
    spaces, tabs and control characters dropped (browsers drop these in URLs)."""
    decoded = html.unescape(html.unescape(target))
    decoded = re.sub(r"[\x00-\x20\x7f-\x9f\\]", "", decoded).lower()
    scheme = _SCHEME.match(decoded)
    return scheme is None or scheme.group()[:-1] in _SAFE_SCHEMES


# Each "]" followed by "(" (a link) or ":" (a reference definition), and what follows it up to
# the next ")": the destination with any title, angle brackets or spaces a viewer may accept.
# A lookahead: every "]" is judged, also one inside another's destination.
_DESTINATION = re.compile(r"\](?=\s*(?:\(|:)([^)]*))")


def _defuse_links(text: str) -> str:
    """Markdown whose links and reference definitions all have inert targets: an unsafe one
    loses its link (its "]" is escaped; every backslash of the data is already doubled, so the
    added one escapes it), keeping its words."""
    def fix(match: re.Match) -> str:
        target = re.sub(r"\s+", "", html.unescape(match.group(1))).lstrip("<")
        return "]" if safe_link_target(target) else "\\]"
    return _DESTINATION.sub(fix, text)


def md_text(text) -> str:
    """A paragraph of the report's own Markdown with data in it: one line, every backslash
    literal (data cannot escape the report's own escapes), tags shown as text (a forged field
    cannot put <script> or <img onerror> into a viewer), links only to inert targets."""
    text = re.sub(r"\s*[\r\n]+\s*", " ", str(text)).replace("\\", "\\\\")
    return _defuse_links(text.replace("<", "&lt;").replace(">", "&gt;"))


def md_inline(text) -> str:
    """One line of Markdown from any text: a newline in a value (a CPU's name, a model's note)
    cannot start a heading or a list, a pipe cannot add a table column, a tag in a name or a
    config's description (<script>, <img onerror=...>) is shown as text, not passed to a viewer,
    and a link keeps only an inert target."""
    # no link at all from a value: a "]" right before "(", "[" or ":" is text (report.html shows
    # inert links from it); an interval "[a, b]" stays as it reads
    return re.sub(r"(?<!\\)((?:\\\\)*)\](?=[(\[:])", r"\1\\]", md_text(text)).replace("|", "\\|")


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# The page's markup, style and script live beside this module; autoescape: a value is text.
_TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"), autoescape=True,
                         undefined=StrictUndefined, trim_blocks=True, keep_trailing_newline=True)


class Report:
    def __init__(self):
        self.blocks: list[tuple] = []
        self.html_only: set[int] = set()  # blocks of detail: report.html shows them, report.md does not

    @contextlib.contextmanager
    def detail(self):
        """Blocks added inside are detail: in report.html (collapsed sections), not report.md."""
        start = len(self.blocks)
        yield self
        self.html_only.update(range(start, len(self.blocks)))

    def heading(self, text, level=2):
        self.blocks.append(("heading", level, text))

    def text(self, text):
        self.blocks.append(("text", text))

    def bullets(self, items):
        items = list(items)
        if items:
            self.blocks.append(("bullets", items))

    def table(self, header, rows, csv: str | None = None, md_rows: int | None = MD_TABLE_ROWS):
        """A table; report.md shows its first md_rows rows (None: all, 0: only a line naming where it
        is) and links the CSV; report.html shows it whole."""
        if rows:
            self.blocks.append(("table", header, rows, csv, md_rows))

    def image(self, path: Path, alt: str, relative: str):
        if path.exists():
            self.blocks.append(("image", path, alt, relative))

    def headings(self) -> list[tuple[int, str]]:
        return [(b[1], b[2]) for b in self.blocks if b[0] == "heading"]

    def markdown(self) -> str:
        out = []
        for index, block in enumerate(self.blocks):
            kind = block[0]
            if index in self.html_only:
                continue
            if kind == "heading":
                out.append("#" * block[1] + " " + md_inline(block[2]) + "\n")
            elif kind == "text":
                out.append(md_text(block[1]) + "\n")
            elif kind == "bullets":
                out.append("\n".join(f"- {md_inline(item)}" for item in block[1]) + "\n")
            elif kind == "table":
                header, rows, csv, limit = block[1:]
                if limit == 0:  # detail: report.html and the CSV hold it
                    out.append(f"Table of {len(rows)} rows in report.html"
                               + (f" and [{csv}]({csv})" if csv else "") + ".\n")
                    continue
                shown = rows if limit is None else rows[:limit]
                out.append("| " + " | ".join(md_inline(h) for h in header) + " |")
                out.append("|" + "---|" * len(header))
                out.extend("| " + " | ".join(md_inline(c) for c in row) + " |" for row in shown)
                if len(shown) < len(rows):
                    out.append(f"\n{len(rows) - len(shown)} more rows in report.html"
                               + (f" and [{csv}]({csv})" if csv else "") + ".")
                out.append("")
            elif kind == "image":
                out.append(f"![{md_inline(block[2])}]({block[3] if safe_link_target(block[3]) else ''})\n")
        return "\n".join(out)

    def html(self, title: str) -> str:
        """One page from templates/report.html.j2: every value escaped by Jinja2 (autoescape),
        text's inert links made by _inline; the charts inline as PNG data."""
        toc, blocks, open_section, sections = [], [], False, 0
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                level, text = block[1], block[2]
                entry = {"kind": kind, "level": level, "text": text, "anchor": _anchor(text),
                         "close_section": level == 2 and open_section, "open": sections < OPEN_SECTIONS}
                sections += level == 2
                open_section = open_section or level == 2
                if level > 1:
                    toc.append(entry)
            elif kind == "text":
                entry = {"kind": kind, "html": Markup(_inline(block[1]))}
            elif kind == "bullets":
                entry = {"kind": kind, "entries": [Markup(_inline(item)) for item in block[1]]}
            elif kind == "table":
                entry = {"kind": kind, "header": block[1], "csv": block[3],
                         "rows": [[(str(c), sort_key(str(c))) for c in row] for row in block[2]]}
            else:
                entry = {"kind": kind, "alt": block[2], "data": base64.b64encode(read_regular_bytes(block[1])).decode()}
            blocks.append(entry)
        return _TEMPLATES.get_template("report.html.j2").render(
            title=title, toc=toc, blocks=blocks, sections_open=open_section,
            style=Markup(_TEMPLATES.loader.get_source(_TEMPLATES, "report.css")[0]),
            script=Markup(_TEMPLATES.loader.get_source(_TEMPLATES, "report.js")[0]))


def _inline(text: str) -> str:
    """Escaped text with markdown links [label](target) to inert targets and `code` kept as
    HTML; a link to any other target keeps its label only."""
    escaped = html.escape(str(text))

    def link(match: re.Match) -> str:
        label, target = match.group(1), html.unescape(match.group(2))
        if not safe_link_target(target):
            return label
        return f'<a href="{html.escape(target, quote=True)}">{label}</a>'

    escaped = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", link, escaped)
    escaped = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


# A cell's value for sorting: its leading number in the unit it is written in, scaled to one
# unit per kind (seconds, bytes, bytes/s, a fraction), so 13.8 ns sorts before 3.86 ms.
_SCALES = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "%": 0.01, "x": 1.0,
           "B": 1.0, "KiB": 1024.0, "MiB": 1024.0 ** 2, "GiB": 1024.0 ** 3, "KB": 1e3, "MB": 1e6, "GB": 1e9,
           "B/s": 1.0, "KB/s": 1e3, "MB/s": 1e6, "GB/s": 1e9}
_LEADING = re.compile(r"^(?:<=\s*|~\s*|best \()?(-?\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?)\s*"
                      r"(ns|us|µs|ms|min|s|%|x|[KMG]i?B/s|B/s|[KMG]i?B|B)?(?![A-Za-z])")


def sort_key(cell: str) -> str:
    """The number a cell sorts by, as text for a data attribute ("" when it holds none)."""
    match = _LEADING.match(cell.strip())
    if not match:
        return ""
    value = float(match.group(1).replace(",", ""))
    return repr(value * _SCALES.get(match.group(2) or "", 1.0))
