"""./parbench report DIR: DIR/report.md and a self-contained DIR/report.html.

The report answers "which model should I use here, by how much, and how sure is
that?" on its first screen: the machine, the sweep, check's verdicts, one
verdict per workload with its interval (a tie when the data cannot decide),
the previous run beside this one, and a few findings in plain sentences. The
sections after it hold the charts and short tables; the full tables are the
CSV files beside the report, linked from it.

The report is built once as a list of blocks (headings, text, lists, tables,
images) and rendered twice, so the two formats always say the same thing.
report.md stays short (tables are cut to their first rows there, with a link
to the CSV); report.html has a table of contents, collapsible sections,
sortable tables and its charts inline, and checks itself when opened with
#selftest (images loaded, contents links resolve, sorting works, no errors):
tests/python/test_report_browser.py opens it in headless Chromium.
"""
from __future__ import annotations

import base64
import html
import math
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

from . import UserError, stats, units
from .modelnames import track_label
from .plot import current_analysis, load_analysis, missing_figures, plot_all
from .provenance import signature
from .state import read_env, read_state, state_digest
from .util import atomic_write_text, load_json, read_regular_bytes

MD_TABLE_ROWS = 6  # rows of a long table shown in report.md; the CSV has them all



def mpi_section(r, analysis: dict) -> None:
    """Message passing through Open MPI beside parbench's own IPC (mpi/ family)."""
    rows_in = analysis["mpi"]
    ipc = analysis.get("ipc") or []
    r.heading("Message passing (MPI)")
    launched = all(row["launched"] for row in rows_in)
    r.text("OSU-style benchmarks of this binary's own ranks: latency is a blocking MPI_Send/MPI_Recv ping-pong "
           "(one way = half a round trip; median and 99th percentile of per-round-trip times), latency_raw the same "
           "loop timed once with MPI_Wtime (the baseline), tcp_latency the same ping-pong over a plain TCP socket "
           "between the same two ranks' hosts (loopback on one host), bandwidth a window of 64 non-blocking sends "
           "then an ack, "
           "and collectives over R ranks. Every payload is verified. "
           + ("The ranks of each run were one mpirun job (shared memory between ranks on a host)."
              if launched else "Some runs used ranks spawned from the benchmark process, which Open MPI joins "
              "over TCP even on one host: their latencies are TCP's, not shared memory's."))

    def pick(benchmark, size, ranks=None):
        return next((x for x in rows_in if x["benchmark"] == benchmark and x["size"] == size
                     and (ranks is None or x["ranks"] == ranks)), None)

    def ipc_one_way(mechanism, size):
        hit = next((i for i in ipc if i["mechanism"] == mechanism and i["mode"] == "pingpong" and i["size"] == size),
                   None)
        return units.microseconds(hit["us_per_message"] / 2) if hit else "–"

    sizes = sorted({x["size"] for x in rows_in if x["benchmark"] == "latency"})
    table = []
    for size in sizes:
        lat, raw, tcp = pick("latency", size), pick("latency_raw", size), pick("tcp_latency", size)
        bw = pick("bandwidth", size)
        table.append([units.byte_size(size),
                      units.microseconds(lat["us_per_iteration"] / 2) if lat else "–",
                      units.microseconds(lat["one_way_us"]) if lat and lat["one_way_us"] is not None else "–",
                      units.microseconds(lat["one_way_p99_us"]) if lat and lat["one_way_p99_us"] is not None else "–",
                      units.microseconds(raw["us_per_iteration"] / 2) if raw else "–",
                      units.microseconds(tcp["one_way_us"]) if tcp and tcp["one_way_us"] is not None else "–",
                      ipc_one_way("pipe", size), ipc_one_way("shm_ring", size),
                      units.bytes_per_second(bw["bytes_per_second"]) if bw else "–"])
    if table:
        r.table(["size", "MPI one way (mean)", "median", "p99", "raw MPI loop, one way (mean)",
                 "TCP between the ranks' hosts, one way (median)", "ipc/pipe, one way",
                 "ipc/shm_ring, one way", "MPI bandwidth"], table, csv="mpi.csv", md_rows=None)
    collectives = [x for x in rows_in if x["benchmark"] in ("allreduce", "bcast", "alltoall", "barrier")]
    if collectives:
        r.text("Collectives (time per call, median):")
        r.table(["collective", "size", "ranks", "time"],
                [[x["benchmark"], units.byte_size(x["size"]) if x["size"] else "–", x["ranks"],
                  units.microseconds(x["us_per_iteration"])] for x in collectives], md_rows=12)

def _primitive_value(metric: str, value: float | None) -> str:
    """A primitive's headline figure in its unit: lateness counters are in microseconds, the
    per-operation times in nanoseconds."""
    if metric.endswith("_us"):
        return units.microseconds(value) + (" late" if "late" in metric else "")
    return units.nanoseconds(value)


def python_section(r, analysis: dict, plots: Path) -> None:
    """The Python track: its rules of thumb with their measured figures, the cross-language
    table, its scaling charts and its primitives beside their C++ counterparts."""
    python = analysis["python"]
    interpreter = python.get("interpreter") or {}
    r.heading("Python track")
    gil = {"yes": "with the GIL", "no": "free-threaded (no GIL)"}.get(interpreter.get("python_gil_enabled"), "")
    r.text(f"The same workloads, inputs and verified answers under CPython "
           f"{interpreter.get('python_version') or '?'} ({interpreter.get('python_executable') or '?'}, {gil}): "
           "py_serial (the baseline of every py_ model's speedup, at the same n), py_threads (a threading.Thread "
           "per worker per region), py_thread_pool (ThreadPoolExecutor), py_processes (a multiprocessing.Process per "
           "worker per region), py_process_pool (ProcessPoolExecutor, workers started before timing) and py_asyncio "
           "(one event loop). Process models start their workers with the start method "
           f"'{interpreter.get('py_start_method') or '?'}' ({interpreter.get('py_start_method_set_by') or '?'}). "
           "Kernels are pure Python. The Python sizes are the track's own: the CPU workloads' points take "
           "100-300 ms at py_serial; the I/O workloads keep C++'s requests per slot (a few ms a point), so there "
           "py_processes, which starts its processes inside every timed region, mostly measures process start.")
    rules = python.get("rules") or []
    if rules:
        r.heading("Rules of thumb, measured here", 3)
        r.text("Each rule with its figure and 95% interval: it holds only when the whole interval is on the rule's "
               "side of the threshold (a ratio against 1 also beyond the sweep's noise), does not hold when the "
               "whole interval is on the other side, and is inconclusive otherwise. The primitive rows are "
               "figures (Python's time over C++'s for the same operation), not rules.")
        r.table(["rule", "workload", "figure", "value", "95% interval", "threshold", "verdict"],
                [[x["rule"], x["workload"] or "–", x["figure"], units.number(x["value"]),
                  units.interval(*x["ci"], units.number) if x.get("ci") else "–", x["threshold"], x["verdict"]]
                 for x in rules], csv="python_rules.csv", md_rows=None)
    interpreters = python.get("interpreters") or []
    if interpreters:
        _interpreters_section(r, interpreters, plots)
    cross = python.get("cross_language") or []
    if cross:
        r.heading("C++ and Python, the same work", 3)
        r.text("The C++ serial model and py_serial on the same input (the Python track's size: identical work, "
               "each verified, and their answers compared); the ratio is Python's time over C++'s, medians, with a "
               "95% bootstrap interval. Workloads whose time is set by construction (amdahl_*, granularity: n is a "
               "duration) or is mostly waiting (sleep_io, tcp_echo) are left out: they would show about 1.")
        r.table(["workload", "n", "C++ serial", "py_serial", "Python / C++", "95% interval", "same answer"],
                [[x["workload"], f"{x['n']:,}", units.seconds(x["cpp_s"]), units.seconds(x["python_s"]),
                  f"{x['ratio']:.3g}x", units.interval(*x["ratio_ci"], lambda v: f"{v:.3g}x"),
                  {True: "yes", False: "NO", None: "–"}[x.get("same_answer")]] for x in cross],
                csv="cross_language.csv", md_rows=None)
    for name, alt in (("speedup_python", "Python track: speedup vs workers (against py_serial)"),
                      ("efficiency_python", "Python track: efficiency vs workers (against py_serial)")):
        if (plots / f"{name}.png").exists():
            r.image(plots / f"{name}.png", alt, f"plots/{name}.png")
    metg = [m for m in analysis.get("metg", []) if m["model"].startswith("py_")]
    if metg:
        r.text("Minimum useful task length of the Python models (METG: the shortest task at which a model reaches "
               "50% efficiency on granularity; the method is in the METG section):")
        r.table(["model", "p", "METG"],
                [[m["model"], m["p"], units.microseconds(m["metg_us"]) if m.get("metg_us") is not None
                  else str(m.get("how", "n/a")).replace("_", " ")] for m in metg], md_rows=None)
    pairs = python.get("primitive_pairs") or []
    if pairs:
        r.heading("Python primitives beside C++", 3)
        r.text("Each primitive of the Python menu (time per operation, or for timers the median lateness, median of "
               "the repetitions) beside the C++ benchmark that does the same operation; the ratio is Python over C++ "
               "with its 95% interval.")
        r.table(["Python", "what one operation is", "time", "C++ counterpart", "time", "Python / C++"],
                [[x["python"], x["summary"] or "–", _primitive_value(x["metric"], x["python_value"]), x["cpp"] or "–",
                  _primitive_value(x["metric"], x["cpp_value"]) if x["cpp_value"] else "–",
                  f"{x['ratio']:.3g}x ({units.interval(*x['ratio_ci'], lambda v: f'{v:.3g}')})"
                  if x["ratio"] is not None else "–"] for x in pairs], csv="python_primitives.csv", md_rows=12)


def _interpreter_name(row: dict) -> str:
    gil = {"yes": "GIL on", "no": "GIL off"}.get(row.get("python_gil_enabled"), "GIL ?")
    forced = " (PYTHON_GIL=1 set by the sweep)" if row.get("python_gil_setting") else ""
    build = "free-threaded build, " if row.get("python_free_threaded") == "yes" else ""
    names = f"models @{row['tag']}" if row["tag"] else "plain model names"
    return f"{row.get('python_version') or '?'} ({build}{gil}{forced}; {names})"


def _interpreters_section(r, rows: list[dict], plots: Path) -> None:
    """The interpreters side by side: each one's serial speed against the first, and whether
    threads speed up CPU work on it (the GIL rule, per interpreter)."""
    r.heading("Interpreters and the GIL", 3)
    first = rows[0]
    r.text(f"The sweep ran the workloads on {len({x['track'] for x in rows})} interpreters (or GIL settings); "
           f"the first, {first.get('python_executable') or '?'}, runs everything under the plain py_ names, each "
           "other one under names tagged with its version, and its speedups are against its own py_serial. "
           "'serial vs first' is its py_serial time over the first interpreter's on the same input (below 1: "
           "faster); the speedups are at p = " f"{first['p']}; the GIL rule (threads give no speedup on "
           "CPU-bound Python: a speedup below 1.25) is decided per interpreter on the 95% interval.")

    def speed(value, ci):
        return (f"{value:.3g} ({units.interval(*ci, lambda v: f'{v:.3g}')})" if value is not None else "–")

    r.table(["interpreter", "workload", "n", "py_serial", "serial vs first", "py_threads speedup",
             "py_process_pool speedup", "GIL rule"],
            [[_interpreter_name(x), x["workload"], f"{x['n']:,}", units.seconds(x["serial_s"]),
              speed(x["serial_ratio"], x["serial_ratio_ci"]) if x["serial_ratio"] is not None else "(the first)",
              speed(x["py_threads"], x["py_threads_ci"]), speed(x["py_process_pool"], x["py_process_pool_ci"]),
              x["gil_rule"] or "–"] for x in rows], csv="python_interpreters.csv", md_rows=None)
    for path in sorted(plots.glob("speedup_python-*.png")):
        tag = path.stem.removeprefix("speedup_python-")
        r.image(path, f"Python {tag}: speedup vs workers (against py_serial@{tag})", f"plots/{path.name}")


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


class Report:
    def __init__(self):
        self.blocks: list[tuple] = []

    def heading(self, text, level=2):
        self.blocks.append(("heading", level, text))

    def text(self, text):
        self.blocks.append(("text", text))

    def bullets(self, items):
        items = list(items)
        if items:
            self.blocks.append(("bullets", items))

    def table(self, header, rows, csv: str | None = None, md_rows: int | None = MD_TABLE_ROWS):
        """A table; report.md shows its first md_rows rows (None: all) and links the CSV."""
        if rows:
            self.blocks.append(("table", header, rows, csv, md_rows))

    def image(self, path: Path, alt: str, relative: str):
        if path.exists():
            self.blocks.append(("image", path, alt, relative))

    def headings(self) -> list[tuple[int, str]]:
        return [(b[1], b[2]) for b in self.blocks if b[0] == "heading"]

    def markdown(self) -> str:
        out = []
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                out.append("#" * block[1] + " " + md_inline(block[2]) + "\n")
            elif kind == "text":
                out.append(md_text(block[1]) + "\n")
            elif kind == "bullets":
                out.append("\n".join(f"- {md_inline(item)}" for item in block[1]) + "\n")
            elif kind == "table":
                header, rows, csv, limit = block[1:]
                shown = rows if limit is None else rows[:limit]
                out.append("| " + " | ".join(md_inline(h) for h in header) + " |")
                out.append("|" + "---|" * len(header))
                out.extend("| " + " | ".join(md_inline(c) for c in row) + " |" for row in shown)
                if len(shown) < len(rows):
                    out.append(f"\n{len(rows) - len(shown)} more rows" + (f" in [{csv}]({csv})" if csv else "")
                               + ".")
                elif csv:
                    out.append(f"\nAs CSV: [{csv}]({csv}).")
                out.append("")
            elif kind == "image":
                out.append(f"![{md_inline(block[2])}]({block[3] if safe_link_target(block[3]) else ''})\n")
        return "\n".join(out)

    def html(self, title: str) -> str:
        toc = []
        body = []
        open_section = False
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                level, text = block[1], block[2]
                anchor = _anchor(text)
                if level == 1:
                    body.append(f'<h1 id="{anchor}">{html.escape(text)}</h1>')
                    continue
                if level == 2:
                    if open_section:
                        body.append("</details>")
                    body.append(f'<details open id="{anchor}"><summary><h2>{html.escape(text)}</h2></summary>')
                    open_section = True
                else:
                    body.append(f'<h{level} id="{anchor}">{html.escape(text)}</h{level}>')
                toc.append(f'<li class="toc{level}"><a href="#{anchor}">{html.escape(text)}</a></li>')
            elif kind == "text":
                body.append(f"<p>{_inline(block[1])}</p>")
            elif kind == "bullets":
                body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in block[1]) + "</ul>")
            elif kind == "table":
                header, rows, csv = block[1], block[2], block[3]
                head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
                cells = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                                for row in rows)
                body.append(f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>')
                if csv:
                    body.append(f'<p class="csv">As CSV: <a href="{html.escape(csv)}">{html.escape(csv)}</a></p>')
            elif kind == "image":
                data = base64.b64encode(read_regular_bytes(block[1])).decode()
                body.append(f'<figure><img alt="{html.escape(block[2])}" '
                            f'src="data:image/png;base64,{data}"><figcaption>{html.escape(block[2])}'
                            "</figcaption></figure>")
        if open_section:
            body.append("</details>")
        return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
                f"<style>{STYLE}</style></head><body>\n"
                f'<nav id="contents"><strong>Contents</strong><ul>{"".join(toc)}</ul></nav>\n<main>'
                + "\n".join(body) + f"</main>\n<script>{SCRIPT}</script>\n</body></html>\n")


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
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0;color:#222;display:flex}"
    "nav#contents{position:sticky;top:0;align-self:flex-start;max-height:100vh;overflow:auto;width:15em;"
    "padding:1em;font-size:0.85em;border-right:1px solid #ddd;flex:none}"
    "nav ul{list-style:none;padding-left:0}nav li.toc3{padding-left:1em}"
    "main{max-width:1150px;padding:0 1.5em 3em;flex:1;min-width:0}"
    "details>summary{cursor:pointer;list-style:none}details>summary h2{display:inline-block;margin:1em 0 .4em}"
    "details>summary::before{content:'\\25BE ';color:#888}details:not([open])>summary::before{content:'\\25B8 '}"
    "table{border-collapse:collapse;margin:.6em 0;font-size:0.85em}"
    "th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}"
    "th{background:#f2f2f2;cursor:pointer;user-select:none}th.asc::after{content:' \\25B2'}"
    "th.desc::after{content:' \\25BC'}td:first-child,th:first-child{text-align:left}"
    "img{max-width:100%}figure{margin:1em 0}figcaption{color:#666;font-size:0.85em}p.csv{font-size:.8em}"
)

# Sorting: a click on a header sorts its table by that column (numbers by value,
# the rest as text), again to reverse. #selftest: checks the page as a reader
# would meet it and writes the result into <pre id="selftest">.
SCRIPT = r"""
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    errors.push((e.message || ('failed to load ' + (e.target && (e.target.src || e.target.href)))));
  }, true);
  var consoleError = console.error;
  console.error = function () { errors.push(Array.prototype.join.call(arguments, ' ')); consoleError.apply(console, arguments); };
  function value(cell) {
    var text = cell.textContent.trim(), number = parseFloat(text.replace(/[,x%]/g, '').replace(/^\[/, ''));
    return isNaN(number) ? text.toLowerCase() : number;
  }
  function sortBy(th) {
    var table = th.closest('table'), body = table.tBodies[0], index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var ascending = !th.classList.contains('asc');
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.classList.remove('asc', 'desc'); });
    th.classList.add(ascending ? 'asc' : 'desc');
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a.cells[index]), y = value(b.cells[index]);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll('table.sortable th').forEach(function (th) {
    th.addEventListener('click', function () { sortBy(th); });
  });
  if (location.hash !== '#selftest') return;
  window.addEventListener('load', function () {
    var result = {images: 0, broken: [], links: 0, dangling: [], sorted: null, errors: errors};
    document.querySelectorAll('img').forEach(function (img) {
      result.images++;
      if (!img.complete || img.naturalWidth === 0) result.broken.push(img.alt);
    });
    document.querySelectorAll('nav#contents a').forEach(function (a) {
      result.links++;
      if (!document.getElementById(a.getAttribute('href').slice(1))) result.dangling.push(a.getAttribute('href'));
    });
    var table = Array.prototype.find.call(document.querySelectorAll('table.sortable'), function (t) {
      return t.tBodies[0].rows.length > 2;
    });
    if (table) {
      var th = table.tHead.rows[0].cells[0];
      sortBy(th);
      var first = Array.prototype.map.call(table.tBodies[0].rows, function (r) { return value(r.cells[0]); });
      sortBy(th);
      var second = Array.prototype.map.call(table.tBodies[0].rows, function (r) { return value(r.cells[0]); });
      var ascending = first.every(function (v, i) { return i === 0 || !(String(first[i - 1]) > String(v)) || typeof v === 'number' && first[i - 1] <= v; });
      result.sorted = ascending && JSON.stringify(second) === JSON.stringify(first.slice().reverse());
    }
    var pre = document.createElement('pre');
    pre.id = 'selftest';
    pre.textContent = JSON.stringify(result);
    document.body.appendChild(pre);
  });
})();
"""


def read_optional(path: Path) -> dict:
    try:
        data = load_json(path)
    except UserError:
        return {}
    return data if isinstance(data, dict) else {}


def _io_backend(env: dict) -> str:
    backend = env.get("io_backend", {}) if isinstance(env.get("io_backend"), dict) else {}
    name = backend.get("backend", "unknown")
    reason = backend.get("reason", "")
    return f"{name}" + (f" ({reason})" if reason else "")


def _mpi_rows(env: dict) -> list[list[str]]:
    """How the MPI jobs ran (env.json "mpi"), where the sweep ran any."""
    mpi = env.get("mpi") if isinstance(env.get("mpi"), dict) else None
    if not mpi:
        return []
    text = lambda key: str(mpi.get(key) or "?")
    hosts = mpi.get("hosts") if isinstance(mpi.get("hosts"), list) else []
    return [["MPI", f"{text('library')}; jobs: {text('launch')}"],
            ["MPI hosts and transport", f"{', '.join(map(str, hosts)) or '?'}; {text('transport')}"],
            ["MPI binding and mpi schedule", f"{text('binding')}; {text('oversubscribe')}; schedule {text('schedule')}"],
            ["MPI network", text("network") if mpi.get("network") else "not recorded (a sweep of an older parbench)"]]


def _python_rows(env: dict) -> list[list[str]]:
    """The Python track's interpreter, as the sweep recorded it (env.json's python_track)."""
    info = env.get("python_track")
    if not isinstance(info, dict):
        return []
    return [["Python track", f"{info.get('python_implementation', '?')} {info.get('python_version', '?')} "
             f"({info.get('python_executable', '?')}), GIL {'on' if info.get('gil_enabled', True) else 'off'}, "
             f"start method {info.get('start_method', '?')} ({info.get('start_method_set_by', '?')})"]]


def _omp_policy(env: dict, config: dict) -> str:
    policy = env.get("omp_wait_policy", "?")
    text = {"default": "libgomp's default (idle threads spin for a while, then sleep)",
            "passive": "passive (idle threads sleep at once), set in the environment",
            "active": "active (idle threads spin), set in the environment"}.get(policy, policy)
    policies = config.get("omp_wait_policies") or []
    others = [p for p in policies if p != policy]
    return (text + "; every family in its own process"
            + (f"; overhead/parallel_for/openmp and sync/barrier/openmp also run under "
               f"{', '.join(others)} (wait:<policy> in their names)" if others else ""))


def _when(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _duration(sweep: dict) -> str:
    start, end = _when(sweep.get("started")), _when(sweep.get("finished"))
    benchmarks = sum(f.get("seconds", 0) for f in sweep.get("families", []))
    wall = f"{(end - start).total_seconds() / 60:.1f} min" if start and end else "unknown (not finished)"
    return f"{wall} ({benchmarks / 60:.1f} min of benchmarks)"


def machine_line(env: dict, cores: dict) -> str:
    cpu = env.get("cpu", {})
    load = (env.get("load_average") or {}).get("before") or []
    load_text = " / ".join(f"{v:.2f}" for v in load[:3]) if load else "unknown"
    return (f"{cpu.get('model', 'unknown CPU')}, {cores['physical']} physical cores / "
            f"{cores['hardware_threads']} hardware threads, governor {cpu.get('governor', 'unknown')}, "
            f"load {load_text} (1/5/15 min before the sweep), host {env.get('hostname', '?')}")


def check_rows(directory: Path, analysis: dict) -> tuple[list[dict], str]:
    """check's rows: from DIR/check.json when ./parbench check wrote it for the folder as it is
    now (sweep.json unchanged since), else computed here."""
    saved = read_optional(directory / "check.json")
    stale = ""
    if isinstance(saved.get("rows"), list) and all(isinstance(r, dict) for r in saved["rows"]):
        if saved.get("digest") != signature(saved):
            stale = "; check.json was not written by ./parbench check on this machine: not shown"
        elif saved.get("sweep_sha256") == state_digest(directory):
            return ([{key: str(row.get(key, "")) for key in ("check", "subject", "measured", "result", "note")}
                     for row in saved["rows"]],
                    "by ./parbench check" + (f" at {saved['when']}" if isinstance(saved.get("when"), str) else ""))
        else:
            stale = "; check.json is of an earlier state of this folder (run ./parbench check again)"
    from .check import run_checks
    try:
        rows = run_checks(directory, None, analysis, [])
    except Exception as error:  # the report must not fail because a check cannot be computed
        return [], f"not available ({error}){stale}"
    return ([{"check": r.check, "subject": r.subject, "measured": r.measured, "result":
              {True: "PASS", False: "FAIL", None: "WARN"}[r.passed], "note": r.note} for r in rows],
            "computed by the report; ./parbench check also re-measures a failed performance check" + stale)


def _verdict_text(verdict: dict) -> str:
    """'pool 1.04x faster than tbb [0.99, 1.09]', 'tie: pool, tbb (tbb 1.01x [0.98, 1.03])'."""
    if verdict["verdict"] == "only":
        return f"{verdict['best']} (the only model)"
    ratio = f"{verdict['ratio']:.2f}x {units.interval(*verdict['ci'])}"
    if verdict["verdict"] == "win":
        return f"{verdict['best']} {ratio.replace('x ', 'x faster than ' + verdict['runner_up'] + ' ', 1)}"
    return f"tie: {', '.join(verdict['tied'])} ({verdict['runner_up']} {ratio})"


def _verdict_label(verdict: dict) -> str:
    """A verdict's workload, marked when it is the Python track's (py_ models among themselves)."""
    track = track_label(verdict.get("track", ""))
    return verdict["workload"] + (f" ({track})" if track else "")


def _vs_previous(row: dict | None) -> str:
    if row is None:
        return "–"
    change = row["ratio"]
    text = f"{change:.2f}x {units.interval(*row['ci'])}"
    if row["significant"]:
        return text + (" slower" if change > 1 else " faster")  # ratios of times: > 1 is slower now
    return text + " (not significant)"


def findings(analysis: dict) -> list[str]:
    """Three to five sentences the data supports, each from the analysis only."""
    out = []
    verdicts = [v for v in analysis["verdicts"] if v["verdict"] != "only"]
    wins = [v for v in verdicts if v["verdict"] == "win"]
    if verdicts:
        by_model = Counter(v["best"] for v in wins)
        out.append(f"{len(wins)} of {len(verdicts)} workloads have a clear fastest model"
                   + (f" ({', '.join(f'{m} {c}' for m, c in by_model.most_common())})" if wins else "")
                   + f"; {len(verdicts) - len(wins)} are ties: the difference is within the interval or the "
                   f"run-to-run noise ({units.percent(analysis['noise'])} median CV), after Holm's correction.")
    cores = analysis["cores"]["physical"]
    efficiencies: dict[str, list[float]] = {}
    for point in analysis["points"]:
        if (point["scaling"] == "strong" and point["p"] == cores and point["category"] == "cpu"
                and point.get("efficiency") is not None and not point.get("limit")
                and point["workload"] != "granularity" and not point["workload"].startswith("amdahl")):
            efficiencies.setdefault(point["model"], []).append(point["efficiency"])
    if efficiencies and cores > 1:
        # The median of an even count is the mean of the middle two (mpi has 4 such workloads here).
        ranked = sorted(((stats.median(v), len(v), m) for m, v in efficiencies.items()), reverse=True)
        out.append(f"Median efficiency at p = {cores} over the CPU workloads each model can run in parallel "
                   "(how many in brackets; memory- and I/O-bound workloads and the Amdahl ones left out): "
                   + ", ".join(f"{m} {e:.2f} ({n})" for e, n, m in ranked) + ".")
    metg = [m for m in analysis.get("metg", []) if m["p"] == cores and m.get("metg_us")]
    if metg:
        metg.sort(key=lambda m: m["metg_us"])
        out.append(f"Shortest useful task at p = {cores} (METG, 50% efficiency): "
                   + ", ".join(f"{m['model']} {'<= ' if m['how'] == 'below_range' else ''}"
                               f"{units.microseconds(m['metg_us'])}" for m in metg) + ".")
    io = {}
    for row in analysis.get("io", []):
        io.setdefault(row["workload"], []).append(row)
    if "sleep_io" in io:
        rows = sorted(io["sleep_io"], key=lambda r: -r["throughput"])
        best, threads = rows[0], next((r for r in rows if r["model"] == "threads"), None)
        out.append(f"Waiting on I/O (sleep_io): {best['model']} reaches {units.number(best['throughput'])} "
                   f"requests/s at concurrency {best['best_p']:,}"
                   + (f", {best['throughput'] / threads['throughput']:.1f}x threads' best "
                      f"({units.number(threads['throughput'])} at {threads['best_p']:,})"
                      if threads and threads is not best else "") + ".")
    limits = analysis.get("limits") or {}
    limited = sorted({p["model"] for p in analysis["points"] if p.get("limit")})
    if limited:
        out.append("Not comparable by design (shown as n/a, left out of verdicts and fits): "
                   + "; ".join(f"{m}: {(limits.get('cpu') or {}).get(m) or (limits.get('fork_join') or {}).get(m)}"
                               + ("" if m in (limits.get('cpu') or {}) else
                                  f" ({', '.join(limits.get('fork_join_workloads', []))})")
                               for m in limited) + ".")
    previous = analysis.get("previous")
    if previous and previous.get("rows"):
        changed = [r for r in previous["rows"] if r["significant"]]
        text = (f"Against the previous run ({previous.get('started', '?')}): {len(changed)} of "
                f"{len(previous['rows'])} compared figures changed beyond their intervals and the noise")
        if changed:
            worst = max(changed, key=lambda r: abs(r["ratio"] - 1))
            text += f" (largest: {worst['subject']}, {worst['ratio']:.2f}x)"
        out.append(text + ".")
    return out[:6]


def build(directory: Path) -> Report:
    analysis = load_analysis(directory)
    env = read_env(directory)  # damaged or linked: said, as analyze does
    sweep = read_state(directory)
    cores = analysis["cores"]
    plots = directory / "plots"
    config = sweep.get("config", {})
    r = Report()
    r.heading(title_of(directory, sweep), 1)

    # ---------------------------------------------------------------- summary
    r.heading("Summary")
    checks, checked_how = check_rows(directory, analysis)
    counts = Counter(c["result"] for c in checks)
    non_pass = [c for c in checks if c["result"] != "PASS"]
    previous = analysis.get("previous")
    r.bullets([
        f"Machine: {machine_line(env, cores)}.",
        f"Sweep: config '{config.get('name', '?')}'"
        + (f" ({config['description']})" if config.get("description") else "") + ", "
        f"{len(sweep.get('families', []))} families, {config.get('repetitions', '?')} repetitions of at least "
        f"{config.get('min_time', '?')} s; started {sweep.get('started', 'unknown')}, took {_duration(sweep)}, "
        f"status {sweep.get('status', 'unknown')}.",
        f"Check ({checked_how}): {counts.get('PASS', 0)} PASS, {counts.get('WARN', 0)} WARN, "
        f"{counts.get('FAIL', 0)} FAIL"
        + (": " + "; ".join(f"{c['result']} {c['check']} {c['subject']}"
                            + (f" ({c['note']})" if c.get("note") else "") for c in non_pass[:8])
           + (f"; and {len(non_pass) - 8} more" if len(non_pass) > 8 else "") if non_pass else "") + ".",
        ("Previous run: " + (f"{previous['directory']} (started {previous.get('started', '?')}); "
                             "every verdict and headline figure below shows 'vs previous'"
                             + (f" (later ones passed over, not analysable: {'; '.join(previous['passed_over'][:3])})"
                                if previous.get("passed_over") else "")
                             if previous else "none found (same machine and config, under results/ or beside "
                                              "this directory); ./parbench report DIR --baseline OTHER names one")),
    ])
    r.heading("Verdicts", 3)
    r.text(f"Which model to use on this machine, per workload. {analysis['verdict_method']}.")
    vs = {row["workload"]: row for row in (previous or {}).get("rows", []) if row["kind"] == "verdict"}
    r.table(["workload", "p", "verdict [95% CI of the ratio]", "fastest's median", "corrected p", "vs previous"],
            [[_verdict_label(v), v["p"] if v["category"] != "io" else f"best ({v['best_p']:,})", _verdict_text(v),
              units.seconds(v["best_median_s"]), units.number(v.get("p_adjusted")),
              _vs_previous(vs.get(_verdict_label(v)))]
             for v in analysis["verdicts"]],
            csv="verdicts.csv", md_rows=None)
    r.heading("Findings", 3)
    r.bullets(findings(analysis))

    # ---------------------------------------------------------------- scaling
    r.heading("Scaling")
    r.text(f"Baseline: {analysis['baseline']}. Error bars: 95% bootstrap intervals where the CV exceeds 5%. "
           f"Shaded: more workers than the {cores['hardware_threads']} hardware threads (oversubscribed, hollow "
           "markers, not joined to the trend). Models are drawn in two groups so that no panel holds more than "
           "six lines.")
    notes = sorted(analysis.get("model_notes", {}).items())
    if notes:
        r.text("What each model's numbers mean (its limits, as the model states them):")
        r.bullets(f"{model}: {note}" for model, note in notes)
    for name, alt in (("speedup_threads", "Speedup vs workers: threads, pool, oneTBB, OpenMP"),
                      ("speedup_others", "Speedup vs workers: processes, process pool, coroutines, MPI"),
                      ("efficiency_threads", "Efficiency vs workers: threads, pool, oneTBB, OpenMP"),
                      ("efficiency_others", "Efficiency vs workers: processes, process pool, coroutines, MPI"),
                      ("karp_flatt", "Karp-Flatt serial fraction at p up to the cores"),
                      ("efficiency_heatmap", "Efficiency at p = cores (n/a: serial by design)")):
        r.image(plots / f"{name}.png", alt, f"plots/{name}.png")
    suspicious = analysis.get("suspicious", [])
    r.heading("Suspicious values", 3)
    if suspicious:
        kinds = Counter(s["kind"] for s in suspicious)
        causes = Counter((s["kind"], s["cause"]) for s in suspicious)
        r.text("Values that should not occur if a measurement is sound: "
               + "; ".join(f"{count} x {kind}" for kind, count in kinds.most_common())
               + ". Likely causes (how many flags each):")
        r.bullets(f"{kind} ({count}): {cause}" for (kind, cause), count in causes.most_common())
        worst = sorted(suspicious, key=lambda s: -(s.get("severity") or 0.0))
        r.table(["kind", "workload / model", "p", "detail"],
                [[s["kind"], f"{s['workload']} / {s['model']}", s["p"], s["detail"]] for s in worst],
                csv="suspicious.csv", md_rows=MD_TABLE_ROWS)
    else:
        r.text("None: no efficiency above 1 beyond its interval, no negative Karp-Flatt, no serial baseline "
               "slower than a model at p = 1, no self-speedup that disagrees with the speedup.")

    fits = analysis.get("fits", [])
    if fits:
        r.heading("Amdahl fits")
        r.text(f"Method: {analysis['amdahl_fit_method']}. The amdahl_* workloads have a configured serial "
               "fraction (shown as 'true'). Models limited by design are not fitted.")
        shown = [f for f in fits if f["workload"].startswith("amdahl") or f.get("fitted")]
        r.table(["workload", "model", "method", "true s", "s", "95% interval", "distinct p"],
                [[f["workload"], f["model"], f["method"], units.number(f.get("true_serial_fraction")),
                  f"{f['serial_fraction']:.3f}", units.interval(*f["serial_fraction_ci"], lambda v: f"{v:.3f}"),
                  f["distinct_p"]] for f in shown], csv="fits.csv")
        unfitted = [f for f in fits if not f.get("fitted")]
        if unfitted:
            r.text(f"{len(unfitted)} of {len(fits)} (workload, model) pairs are not fitted: {unfitted[0]['reason']}. "
                   "Their serial fraction is the Karp-Flatt estimate (in fits.csv).")
        r.image(plots / "amdahl_efficiency.png", "amdahl_* efficiency against the Amdahl bound of the configured s",
                "plots/amdahl_efficiency.png")

    if analysis.get("gustafson"):
        r.heading("Weak scaling (Gustafson)")
        rows = analysis["gustafson"]
        few = all(g.get("distinct_p", 0) < 3 for g in rows)
        r.text("n grows with p so that each worker keeps the same work; scaled speedup = p T(1, n) / T(p, n_p), "
               "serial fraction from S = p - s (p - 1)"
               + (f": with p = 1 and {rows[0]['p']} only, that is an exact solve from one point, not a trend"
                  if few else "") + ".")
        r.image(plots / "gustafson.png", "Scaled speedup vs workers", "plots/gustafson.png")
        r.table(["workload", "model", "n", "p", "scaled speedup", "serial fraction"],
                [[g["workload"], g["model"], f"{g['n']:,}", g["p"], units.number(g["scaled_speedup"]),
                  "n/a: serial by design" if g.get("limit") else units.number(g["serial_fraction"])]
                 for g in rows], csv="gustafson.csv")

    if analysis.get("metg"):
        r.heading("Task granularity (METG)")
        r.text(analysis.get("metg_method", "") + ". 'below_range': already efficient at the shortest length "
               "measured (an upper bound). Above the core count efficiency cannot pass cores / p.")
        spawn = analysis.get("task_spawn", {})
        spawned = [f"{model}: {how}" for model, how in sorted(spawn.items())
                   if not how.startswith("none") and model in {m["model"] for m in analysis["metg"]}]
        if spawned:
            r.text("How each model spawns a task: " + "; ".join(spawned) + ".")
        left_out = sorted((model, how[len("none: "):]) for model, how in spawn.items()
                          if how.startswith("none") and model != "serial")
        if left_out:
            r.text("Left out (no spawn per task): " + "; ".join(f"{m}: {why}" for m, why in left_out) + ".")
        r.image(plots / "metg.png", "Efficiency vs task length", "plots/metg.png")
        before = {(m["model"], m["p"]): m.get("before") for m in (previous or {}).get("metg", [])}
        levels = sorted({m["p"] for m in analysis["metg"]})
        by_model: dict[str, dict[int, dict]] = {}
        for m in analysis["metg"]:
            by_model.setdefault(m["model"], {})[m["p"]] = m

        def metg_cell(entry: dict | None) -> str:
            if entry is None:
                return "–"
            if entry["metg_us"] is None:
                return "n/a (serial by design)" if entry.get("limit") else "not reached"
            was = before.get((entry["model"], entry["p"]))
            return (("<= " if entry["how"] == "below_range" else "") + units.microseconds(entry["metg_us"])
                    + (f" (was {units.microseconds(was)})" if was else ""))

        r.table(["model"] + [f"p = {p}" for p in levels],
                [[model] + [metg_cell(by_model[model].get(p)) for p in levels]
                 for model in sorted(by_model, key=lambda m: by_model[m].get(cores["physical"], {}).get("metg_us")
                                     or math.inf)], csv="metg.csv", md_rows=None)
        if analysis.get("task_lengths"):
            r.text("Task length, nominal vs measured (each task body run back to back on one thread; median over "
                   "the families that ran the size, and their range):")
            r.table(["track", "nominal", "measured", "range", "measured / nominal"],
                    [[track_label(t.get("track", "")).removesuffix(" track") or "C++",
                      units.microseconds(t["nominal_us"]), units.microseconds(t["actual_us"]),
                      units.interval(t["actual_min_us"], t["actual_max_us"], units.microseconds),
                      f"{t['ratio']:.3f}"] for t in analysis["task_lengths"]], csv="task_lengths.csv")

    if analysis.get("overhead"):
        r.heading("Overheads")
        r.text("overhead/tasks: 10,000 empty tasks spawned one by one and waited for (time per task), on the "
               "models that spawn each task; overhead/parallel_for: one parallel_for of p empty chunks (time per "
               "region). Medians over batches, 95% intervals. OpenMP's figures depend on its wait policy: "
               "'openmp wait:<policy>' rows.")
        r.image(plots / "overhead.png", "Overheads per model (log scale)", "plots/overhead.png")
        vs_over = {row["subject"]: row for row in (previous or {}).get("rows", []) if row["kind"] == "overhead"}
        rows = sorted((o for o in analysis["overhead"] if o["p"] == cores["physical"] or o["model"] == "serial"),
                      key=lambda o: (o["kind"], o["ns"]))
        r.text(f"At p = {cores['physical']} (every p in overhead.csv):")
        r.table(["kind", "model", "median", "95% interval", "vs previous"],
                [[o["kind"], o["model"], units.nanoseconds(o["ns"]), units.interval(*o["ci"], units.nanoseconds),
                  _vs_previous(vs_over.get(f"overhead/{o['kind']}/{o['model']} p = {o['p']}"))] for o in rows],
                csv="overhead.csv", md_rows=None)
    idle = analysis.get("idle") or []
    if idle:
        r.text("What an idle model costs (overhead/idle): CPU time of the process and its worker processes over "
               "100 ms of idleness right after a burst of 10,000 tasks (or one region), as a share of one core "
               "(100% = one core busy). Workers that spin before they sleep show here; a pool whose workers "
               f"park shows ~0. At p = {cores['physical']} (every p in idle.csv):")
        at_cores = sorted((i for i in idle if i["p"] == cores["physical"]), key=lambda i: i["cpu_share"])
        r.table(["model", "idle CPU (share of a core)", "95% interval"],
                [[i["model"], units.percent(i["cpu_share"]), units.interval(*i["ci"], units.percent)]
                 for i in at_cores], csv="idle.csv", md_rows=None)

    memory = analysis.get("memory", [])
    if memory:
        r.heading("Memory bandwidth")
        llc = next((m["llc_bytes"] for m in memory if m.get("llc_bytes")), None)
        r.text("Memory-bound workloads in GB/s (decimal, STREAM's convention), with the working set against the "
               f"last-level cache ({units.byte_size(llc)}): a working set that fits measures the cache, not "
               "memory.")
        fits_llc = sorted({m["workload"] for m in memory if m["fits_llc"]})
        if fits_llc:
            r.text("Warning: the working set of " + ", ".join(fits_llc) + " fits in the last-level cache.")
        at_cores = [m for m in memory if m["p"] == cores["physical"]]
        workloads = sorted({m["workload"] for m in at_cores})
        models = sorted({m["model"] for m in at_cores})
        cell = {(m["workload"], m["model"]): m for m in at_cores}
        r.text(f"At p = {cores['physical']}:")
        r.table(["model"] + [f"{w} ({units.byte_size(next(m['working_set_bytes'] for m in at_cores if m['workload'] == w))})"
                             for w in workloads],
                [[model] + [("n/a" if cell[(w, model)].get("limit") else
                             units.bytes_per_second(cell[(w, model)]["bytes_per_second"])) if (w, model) in cell
                            else "–" for w in workloads]
                 for model in sorted(models, key=lambda m: -(cell.get((workloads[0], m), {}).get("bytes_per_second")
                                                             or 0))],
                csv="memory.csv", md_rows=None)

    processes_points = [p for p in analysis["points"] if p["model"] in ("processes", "process_pool")]
    if processes_points:
        r.heading("Processes")
        r.text("The same workloads on threads, on processes (fork p children per region, as with "
               "multiprocessing.Process) and on a pool of worker processes (as with multiprocessing.Pool). "
               "Processes pay for fork and wait in every region; the pool pays a shared-memory hand-off.")
        r.image(plots / "processes.png", "Speedup at p = cores: threads vs processes vs pools",
                "plots/processes.png")

    if analysis.get("io"):
        r.heading("I/O workloads")
        r.text(f"{analysis.get('io_method', '')}. Blocking models wait in their workers, so their concurrency is "
               "their worker count (capped per model); the coroutine models keep p requests in flight on event "
               f"loops ({_io_backend(env)}).")
        for group, title in (("threads", "threads, pool, oneTBB, OpenMP"),
                             ("others", "processes, process pool, coroutines"),
                             ("python", "the Python track (py_threads, pools, py_processes, py_asyncio)")):
            if (plots / f"io_throughput_{group}.png").exists():
                r.image(plots / f"io_throughput_{group}.png", f"Throughput vs concurrency (log-log): {title}",
                        f"plots/io_throughput_{group}.png")
        r.table(["workload", "model", "best p", "requests/s", "concurrency reached", "efficiency there"],
                [[i["workload"], i["model"], f"{i['best_p']:,}", units.number(i["throughput"]),
                  units.number(i.get("concurrency_reached")), units.number(i.get("efficiency_at_best"))]
                 for i in analysis["io"]], csv="io.csv", md_rows=8)

    tables = analysis.get("primitive_tables", {})
    if tables:
        r.heading("Primitives")
        r.text("The price of the building blocks, each beside a raw baseline in the same run (hatched): sync/ "
               "locks, semaphores, wake-ups, barriers and latches between threads; queue/ throughput and hand-off; "
               "spawn/ the cost to start one unit of work and see it finish; timer/ how late timers fire. Every "
               "benchmark checks that it did the work it claims. Full tables in primitives.csv.")
        r.bullets(analysis.get("primitive_findings") or ["no headline figures (families missing)"])
        for prefix, title in (("sync", "Synchronisation"), ("queue", "Queues"), ("spawn", "Spawn ladder"),
                              ("timer", "Timers")):
            if tables.get(prefix):
                r.image(plots / f"primitives_{prefix}.png", f"{title} (log scale, 95% intervals)",
                        f"plots/primitives_{prefix}.png")

    if analysis.get("ipc"):
        r.heading("Inter-process communication")
        r.text("ipc/<mechanism>/pingpong: one message to a child and back (latency per round trip); "
               "ipc/<mechanism>/stream: one-way messages to a child that checksums them (bandwidth). Every payload "
               "is verified. Latency at the smallest message and bandwidth at the largest (all sizes in ipc.csv):")
        r.image(plots / "ipc.png", "IPC latency and bandwidth by message size (log scales)", "plots/ipc.png")
        ipc = analysis["ipc"]
        mechanisms = sorted({i["mechanism"] for i in ipc})
        smallest, largest = min(i["size"] for i in ipc), max(i["size"] for i in ipc)

        def pick(mechanism, mode, size):
            return next((i for i in ipc if i["mechanism"] == mechanism and i["mode"] == mode and i["size"] == size),
                        None)

        rows = []
        for m in mechanisms:
            ping, stream = pick(m, "pingpong", smallest), pick(m, "stream", largest)
            rows.append([m, units.microseconds(ping["us_per_message"]) if ping else "–",
                         units.bytes_per_second(stream.get("bytes_per_second")) if stream else "–"])
        r.table(["mechanism", f"round trip, {units.byte_size(smallest)}", f"bandwidth, {units.byte_size(largest)}"],
                sorted(rows, key=lambda row: row[0]), csv="ipc.csv", md_rows=None)

    if analysis.get("mpi"):
        mpi_section(r, analysis)

    if analysis.get("python"):
        python_section(r, analysis, plots)

    if analysis.get("psync"):
        r.heading("Process synchronisation")
        r.text("Shared counters (atomic vs process-shared mutex, robust mutex, semaphore), ping-pong hand-offs, a "
               "process-shared barrier, and a manager process reached over a socket against a table in shared "
               "memory.")
        r.table(["benchmark", "time per iteration", "per operation", "CV"],
                [[q["benchmark"], units.microseconds(q["us_per_iteration"]), units.nanoseconds(q.get("ns_per_op")),
                  units.percent(q["cv"])] for q in analysis["psync"]], csv="psync.csv")

    r.heading("Warnings")
    r.bullets(analysis["warnings"] or ["none"])
    errors = analysis.get("errors", [])
    if errors:
        r.text("Benchmarks that reported errors (verification failures among them):")
        r.bullets(f"{e['benchmark']}: {'; '.join(e['errors'])}" for e in errors)

    disturbance = analysis.get("disturbance", [])
    if disturbance:
        r.heading("Disturbance")
        limit = analysis.get("disturbance_max")
        totals = sorted(d["total"] for d in disturbance if d.get("total") is not None)
        rerun = [d for d in disturbance if d["attempts"] > 1]
        r.text("While each family ran, the CPU time stolen by the hypervisor (steal) and used by other programs "
               "(other), as fractions of the machine's CPU capacity (/proc/stat, less the family's, the sweep's and "
               "the kernel threads' own)."
               + (f" A family above {limit:.0%} is run again (the least disturbed attempt is kept)."
                  if isinstance(limit, (int, float)) else "")
               + (f" Median {units.percent(totals[len(totals) // 2])}, largest {units.percent(totals[-1])}, "
                  f"{len(rerun)} of {len(disturbance)} families re-run." if totals else ""))
        shown = [d for d in disturbance if (d.get("total") or 0) > 0.05 or d["attempts"] > 1]
        r.table(["family", "steal", "other", "total (kept)", "attempts (totals)"],
                [[d["family"] + (" (weak)" if d["weak"] else "") + (f" wait:{d['omp_wait']}" if d["omp_wait"] else ""),
                  units.percent(d.get("steal")), units.percent(d.get("other")), units.percent(d.get("total")),
                  f"{d['attempts']} (" + ", ".join(units.percent(t) for t in d["attempt_totals"]) + ")"
                  + (": reproduced, the family's own" if d.get("reproduced") else "")]
                 for d in sorted(shown, key=lambda d: -(d.get("total") or 0))], csv="disturbance.csv")

    r.heading("Environment")
    cpu = env.get("cpu", {})
    build_info = env.get("build", {}).get("binary", {})
    libraries = env.get("libraries", {})
    load = env.get("load_average", {})

    def load_text(values):
        return " / ".join(f"{v:.2f}" for v in values[:3]) if isinstance(values, list) and values else "?"

    r.table(["", ""], [
        ["CPU", f"{cpu.get('model', 'unknown')}, {cpu.get('mhz') or '?'} MHz"],
        ["cores", f"{cores['physical']} physical, {cores['hardware_threads']} hardware threads, "
                  f"SMT {'on' if cpu.get('smt') else 'off'}"],
        ["caches", ", ".join(f"L{c.get('level')} {c.get('type')} {c.get('size')}" for c in cpu.get("caches", []))
         or "unknown"],
        ["frequency governor", cpu.get("governor", "unknown")],
        ["kernel / OS", f"{env.get('kernel', '?')} / {env.get('os', '?')}"],
        ["compiler, flags", f"{build_info.get('compiler', '?')}, {build_info.get('build_type', '?')} "
                            f"{build_info.get('cxx_flags', '')}"],
        ["Google Benchmark", f"{libraries.get('google_benchmark', '?')} (reports itself as a DEBUG build: the "
                             "library's own build type, harmless for these timings)"],
        ["oneTBB / OpenMP", f"{libraries.get('onetbb', '?')} / {libraries.get('openmp', '?')}"],
        ["OpenMP wait policy", _omp_policy(env, config)],
        ["git", f"{env.get('git', {}).get('sha', '?')}{' (dirty)' if env.get('git', {}).get('dirty') else ''}"],
        ["CPU affinity", ", ".join(map(str, env.get("affinity") or [])) or "unknown"],
        ["load average before / after (1/5/15 min)", f"{load_text(load.get('before'))}; {load_text(load.get('after'))}"],
        ["spin calibration", f"{units.number(build_info.get('spin_iters_per_us'))} iterations/us"
                             + (f" (given by {build_info['spin_source']} in the environment, not measured)"
                                if build_info.get("spin_source") else "")],
        ["coroutine event loop", _io_backend(env)],
        *_mpi_rows(env),
        *_python_rows(env),
    ], md_rows=None)

    failures = analysis.get("failures", [])
    r.heading("Failed families")
    r.bullets([f"{f['family']}{' (weak)' if f.get('weak') else ''}"
               f"{' (C++ at the Python track sizes)' if f.get('sizes') else ''}: {f['status']}: {f.get('message', '')}"
               for f in failures] or ["none"])

    r.heading("Data files")
    files = [p.name for p in sorted(directory.glob("*.csv"))]
    r.text("Every table in full, as CSV beside this report: " + ", ".join(f"[{f}]({f})" for f in files)
           + "; all figures and repetitions in [analysis.json](analysis.json); the raw Google Benchmark JSON in "
             "raw/; the sweep's own record (families, attempts, disturbance) in [sweep.json](sweep.json).")
    return r


def title_of(directory: Path, sweep: dict) -> str:
    config = (sweep.get("config") or {}).get("name")
    started = _when(sweep.get("started"))
    if config and started:
        return f"parbench: '{config}' sweep of {started.strftime('%Y-%m-%d %H:%M')} UTC"
    return f"parbench report: {directory.name}"


def write_report(directory: Path) -> Path:
    directory = Path(directory)
    analysis = current_analysis(directory)
    if missing_figures(directory, analysis) != []:  # never drawn for it, or one is gone (a failed plot, a full disk)
        plot_all(directory)
        missing = missing_figures(directory, analysis)
        if missing:
            raise UserError(f"{directory / 'plots'}: cannot draw {', '.join(missing)} (see plot's error)")
    report = build(directory)
    sweep = read_state(directory)
    atomic_write_text(directory / "report.md", report.markdown())
    atomic_write_text(directory / "report.html", report.html(title_of(directory, sweep)))
    return directory / "report.html"


def main(directory: str) -> int:
    path = write_report(Path(directory))
    print(f"report: {path} (and report.md)")
    return 0
