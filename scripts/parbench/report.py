"""./parbench report DIR: DIR/report.md and a self-contained DIR/report.html.

The report is built once as a list of blocks (headings, text, lists, tables,
images) and rendered twice, so the two formats always say the same thing.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from . import UserError
from .plot import load_analysis, plot_all
from .util import atomic_write_text


def fmt(value, digits=3, percent=False):
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int,)) and not percent:
        return f"{value:,}"
    if percent:
        return f"{100 * value:.1f}%"
    return f"{value:.{digits}g}"


def ms(seconds):
    return "–" if seconds is None else f"{1000 * seconds:.3g}"


class Report:
    def __init__(self):
        self.blocks: list[tuple] = []

    def heading(self, text, level=2):
        self.blocks.append(("heading", level, text))

    def text(self, text):
        self.blocks.append(("text", text))

    def bullets(self, items):
        if items:
            self.blocks.append(("bullets", list(items)))

    def table(self, header, rows):
        if rows:
            self.blocks.append(("table", header, rows))

    def image(self, path: Path, alt: str, relative: str):
        if path.exists():
            self.blocks.append(("image", path, alt, relative))

    def markdown(self) -> str:
        out = []
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                out.append("#" * block[1] + " " + block[2] + "\n")
            elif kind == "text":
                out.append(block[1] + "\n")
            elif kind == "bullets":
                out.append("\n".join(f"- {item}" for item in block[1]) + "\n")
            elif kind == "table":
                header, rows = block[1], block[2]
                out.append("| " + " | ".join(header) + " |")
                out.append("|" + "---|" * len(header))
                out.extend("| " + " | ".join(str(c) for c in row) + " |" for row in rows)
                out.append("")
            elif kind == "image":
                out.append(f"![{block[2]}]({block[3]})\n")
        return "\n".join(out)

    def html(self, title: str) -> str:
        body = []
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                body.append(f"<h{block[1]}>{html.escape(block[2])}</h{block[1]}>")
            elif kind == "text":
                body.append(f"<p>{html.escape(block[1])}</p>")
            elif kind == "bullets":
                body.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in block[1]) + "</ul>")
            elif kind == "table":
                head = "".join(f"<th>{html.escape(h)}</th>" for h in block[1])
                rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                               for row in block[2])
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
            elif kind == "image":
                data = base64.b64encode(block[1].read_bytes()).decode()
                body.append(f'<figure><img alt="{html.escape(block[2])}" '
                            f'src="data:image/png;base64,{data}"><figcaption>{html.escape(block[2])}'
                            "</figcaption></figure>")
        style = ("body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;"
                 "color:#222}table{border-collapse:collapse;margin:1em 0;font-size:0.85em}"
                 "th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}"
                 "th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}"
                 "img{max-width:100%}figure{margin:1em 0}figcaption{color:#666;font-size:0.85em}")
        return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
                f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def read_optional(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _io_backend(env: dict) -> str:
    backend = env.get("io_backend", {}) if isinstance(env.get("io_backend"), dict) else {}
    name = backend.get("backend", "unknown")
    reason = backend.get("reason", "")
    return f"{name}" + (f" ({reason})" if reason else "")


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


def _percent(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def build(directory: Path) -> Report:
    analysis = load_analysis(directory)
    env = read_optional(directory / "env.json")
    sweep = read_optional(directory / "sweep.json")
    cores = analysis["cores"]
    plots = directory / "plots"
    r = Report()
    r.heading(f"parbench report: {directory.name}", 1)
    config = sweep.get("config", {})
    r.text(f"Sweep '{config.get('name', 'unknown')}' ({config.get('description', '')}), "
           f"{config.get('repetitions', '?')} repetitions of at least {config.get('min_time', '?')} s each; "
           f"started {sweep.get('started', 'unknown')}, status {sweep.get('status', 'unknown')}. "
           "Every benchmark family ran in its own process.")

    r.heading("Environment")
    cpu = env.get("cpu", {})
    build = env.get("build", {}).get("binary", {})
    libraries = env.get("libraries", {})
    r.table(["", ""], [
        ["CPU", f"{cpu.get('model', 'unknown')}, {cpu.get('mhz') or '?'} MHz"],
        ["cores", f"{cores['physical']} physical, {cores['hardware_threads']} hardware threads, "
                  f"SMT {'on' if cpu.get('smt') else 'off'}"],
        ["caches", ", ".join(f"L{c.get('level')} {c.get('type')} {c.get('size')}" for c in cpu.get("caches", []))
         or "unknown"],
        ["frequency governor", cpu.get("governor", "unknown")],
        ["kernel / OS", f"{env.get('kernel', '?')} / {env.get('os', '?')}"],
        ["compiler, flags", f"{build.get('compiler', '?')}, {build.get('build_type', '?')} "
                            f"{build.get('cxx_flags', '')}"],
        ["Google Benchmark", f"{libraries.get('google_benchmark', '?')} (reports itself as a DEBUG build: "
                             "the library's own build type, harmless for these timings)"],
        ["oneTBB / OpenMP", f"{libraries.get('onetbb', '?')} / {libraries.get('openmp', '?')}"],
        ["OpenMP wait policy", _omp_policy(env, config)],
        ["git", f"{env.get('git', {}).get('sha', '?')}{' (dirty)' if env.get('git', {}).get('dirty') else ''}"],
        ["CPU affinity", ", ".join(map(str, env.get("affinity") or [])) or "unknown"],
        ["load average before / after",
         f"{env.get('load_average', {}).get('before', ['?'])[0]} / {env.get('load_average', {}).get('after', ['?'])[0]}"],
        ["spin calibration", f"{build.get('spin_iters_per_us', '?')} iterations/us"],
        ["coroutine event loop", _io_backend(env)],
    ])

    r.heading("Warnings")
    r.bullets(analysis["warnings"] or ["none"])
    errors = analysis.get("errors", [])
    if errors:
        r.text("Benchmarks that reported errors (verification failures among them):")
        r.bullets(f"{e['benchmark']}: {'; '.join(e['errors'])}" for e in errors)

    r.heading("Which model to use on this machine")
    r.text(f"Fastest model per workload at p = {cores['physical']} (the serial model competes at p = 1), "
           "with its margin over the runner-up and a two-sided Mann-Whitney U test of the two sets of "
           "repetitions (significant: p < 0.05).")
    r.table(["workload", "n", "p", "best", "median ms", "runner-up", "median ms", "margin", "significant"],
            [[w["workload"], fmt(w["n"]), w["p"], w["best"], ms(w["best_median_s"]), w.get("runner_up", "–"),
              ms(w.get("runner_up_median_s")), fmt(w.get("margin"), percent=True),
              fmt(w.get("significant")) + (f" (p={w['p_value']:.3g})" if "p_value" in w else "")]
             for w in analysis["which_model"]])

    r.heading("Scaling")
    r.text(f"Baseline: {analysis['baseline']}. Error bars: 95% bootstrap intervals of the median.")
    notes = sorted(analysis.get("model_notes", {}).items())
    if notes:
        r.text("What each model's numbers mean (its limits, as the model states them):")
        r.bullets(f"{model}: {note}" for model, note in notes)
    r.image(plots / "speedup.png", "Speedup vs workers, with the ideal line and Amdahl fits", "plots/speedup.png")
    r.image(plots / "efficiency.png", "Efficiency vs workers", "plots/efficiency.png")
    r.image(plots / "karp_flatt.png", "Karp-Flatt experimentally determined serial fraction",
            "plots/karp_flatt.png")
    r.image(plots / "efficiency_heatmap.png", "Efficiency at p = cores", "plots/efficiency_heatmap.png")

    r.heading("Amdahl fits")
    r.text(f"Method: {analysis['amdahl_fit_method']}. For the amdahl_* workloads the configured "
           "(true) serial fraction is shown beside the fitted one.")
    r.table(["workload", "model", "n", "true s", "fitted s", "95% interval", "max p fitted"],
            [[f["workload"], f["model"], fmt(f["n"]), fmt(f.get("true_serial_fraction")),
              f"{f['serial_fraction']:.4f}", f"[{f['serial_fraction_ci'][0]:.4f}, {f['serial_fraction_ci'][1]:.4f}]",
              f["max_p"]] for f in analysis["fits"]])

    if analysis.get("gustafson"):
        r.heading("Weak scaling (Gustafson)")
        r.text("n grows with p so that each worker keeps the same work; scaled speedup = p T(1, n) / T(p, n_p), "
               "serial fraction from S = p - s (p - 1).")
        r.image(plots / "gustafson.png", "Scaled speedup vs workers", "plots/gustafson.png")
        r.table(["workload", "model", "base n", "n", "p", "scaled speedup", "serial fraction"],
                [[g["workload"], g["model"], fmt(g["base_n"]), fmt(g["n"]), g["p"], fmt(g["scaled_speedup"]),
                  fmt(g["serial_fraction"])] for g in analysis["gustafson"]])

    if analysis.get("metg"):
        r.heading("Task granularity (METG)")
        r.text(analysis.get("metg_method", "") + ". 'below_range': already efficient at the shortest length "
               "measured (an upper bound). Above the core count efficiency cannot pass cores / p, so "
               "oversubscribed p may never reach 50%.")
        spawn = analysis.get("task_spawn", {})
        r.bullets([f"{model}: {how}" for model, how in sorted(spawn.items())
                   if not how.startswith("none") and model in {m["model"] for m in analysis["metg"]}])
        left_out = sorted((model, how[len("none: "):]) for model, how in spawn.items()
                          if how.startswith("none") and model != "serial")
        if left_out:
            r.text("Left out (no spawn per task): " + "; ".join(f"{m}: {why}" for m, why in left_out) + ".")
        r.image(plots / "metg.png", "Efficiency vs task duration", "plots/metg.png")
        r.table(["model", "p", "METG (us)", "how"],
                [[m["model"], m["p"], fmt(m["metg_us"]), m["how"]] for m in analysis["metg"]])
        if analysis.get("task_lengths"):
            r.text("Task length, nominal vs measured (the task body run back to back on one thread; median "
                   "over the families that ran the size, and their range):")
            r.table(["nominal (us)", "measured (us)", "range (us)", "measured / nominal"],
                    [[fmt(t["nominal_us"]), fmt(t["actual_us"]),
                      f"[{fmt(t['actual_min_us'])}, {fmt(t['actual_max_us'])}]", f"{t['ratio']:.3f}"]
                     for t in analysis["task_lengths"]])

    if analysis.get("overhead"):
        r.heading("Overheads")
        r.text("overhead/tasks: 10,000 empty tasks spawned one by one and waited for (ns per task), on "
               "models that spawn each task; overhead/parallel_for: one parallel_for of p empty chunks "
               "(ns per region). OpenMP's figures depend on its wait policy: 'openmp wait:<policy>' rows "
               "(default: libgomp's own; passive: idle threads sleep; active: they spin).")
        r.image(plots / "overhead.png", "Overheads per model (log scale)", "plots/overhead.png")
        r.table(["kind", "model", "p", "ns (median)", "95% interval"],
                [[o["kind"], o["model"], o["p"], fmt(o["ns"], 4), f"[{fmt(o['ci'][0])}, {fmt(o['ci'][1])}]"]
                 for o in analysis["overhead"]])

    processes_points = [p for p in analysis["points"] if p["model"] in ("processes", "process_pool")]
    if processes_points:
        r.heading("Processes")
        r.text("The same workloads on threads, on processes (fork p children per region, as with "
               "multiprocessing.Process) and on a pool of worker processes (as with multiprocessing.Pool). "
               "Processes pay for fork and wait in every region; the pool pays a shared-memory hand-off.")
        r.image(plots / "processes.png", "Speedup at p = cores: threads vs processes vs pools",
                "plots/processes.png")
        cores_p = cores["physical"]
        table = {}
        for point in analysis["points"]:
            if point["scaling"] == "strong" and point["p"] == cores_p and point.get("efficiency") is not None \
                    and point["category"] != "io":
                table.setdefault(point["workload"], {})[point["model"]] = point["efficiency"]
        models = [m for m in ("threads", "pool", "tbb", "openmp", "processes", "process_pool")
                  if any(m in row for row in table.values())]
        r.table(["workload"] + [f"{m} eff." for m in models],
                [[w] + [fmt(table[w].get(m)) for m in models] for w in sorted(table)])

    if analysis.get("io"):
        r.heading("I/O workloads")
        r.text(f"{analysis.get('io_method', '')}. Blocking models wait in their workers, so their "
               "concurrency is their worker count (capped per model: starting thousands of threads or "
               "processes per region is not sensible); the coroutine models keep p requests in flight on "
               f"event loops ({_io_backend(env)}).")
        r.image(plots / "io_throughput.png", "Throughput vs concurrency per I/O workload (log-log)",
                "plots/io_throughput.png")
        r.text("Concurrency reached: best throughput divided by the serial model's (requests effectively "
               "in flight), at the p where it was best; best model first for each workload.")
        r.table(["workload", "model", "best p", "requests/s", "concurrency reached", "efficiency there",
                 "largest p run"],
                [[i["workload"], i["model"], i["best_p"], fmt(i["throughput"]),
                  fmt(i.get("concurrency_reached")), fmt(i.get("efficiency_at_best")), i["max_p"]]
                 for i in analysis["io"]])

    tables = analysis.get("primitive_tables", {})
    if tables:
        r.heading("Primitives")
        r.text("The price of the building blocks, each beside a raw baseline in the same run (hatched in "
               "the charts): sync/ locks, semaphores, wake-ups, barriers and latches between threads "
               "(nthreads:T up to twice the hardware threads; 1 is uncontended); queue/ throughput for "
               "producers x consumers and hand-off latency; spawn/ the cost to start one unit of work and "
               "see it finish; timer/ how late sleeps and periodic timers fire. Every benchmark checks "
               "that it did the work it claims.")
        r.bullets(analysis.get("primitive_findings") or ["no headline figures (families missing)"])
        descriptions = {"sync": "Synchronisation", "queue": "Queues", "spawn": "Spawn ladder", "timer": "Timers"}
        for prefix in ("sync", "queue", "spawn", "timer"):
            rows = tables.get(prefix)
            if not rows:
                continue
            r.heading(descriptions[prefix], 3)
            r.image(plots / f"primitives_{prefix}.png", f"{descriptions[prefix]} (log scale)",
                    f"plots/primitives_{prefix}.png")
            if prefix == "timer":
                r.table(["benchmark", "median late (us)", "p99 late (us)", "max late (us)", "drift (us)", "CV"],
                        [[t["benchmark"], fmt(t.get("median_late_us")), fmt(t.get("p99_late_us")),
                          fmt(t.get("max_late_us")), fmt(t.get("drift_us")), fmt(t["cv"], percent=True)]
                         for t in rows])
            else:
                r.table(["benchmark", "metric", "median", "95% interval", "CV"],
                        [[t["benchmark"] + (" (baseline)" if t["baseline"] else ""), t["metric"], fmt(t["value"], 4),
                          f"[{fmt(t['ci'][0])}, {fmt(t['ci'][1])}]", fmt(t["cv"], percent=True)] for t in rows])

    if analysis.get("ipc"):
        r.heading("Inter-process communication")
        r.text("ipc/<mechanism>/pingpong: one message to a child and back (latency per round trip); "
               "ipc/<mechanism>/stream: one-way messages to a child that counts and checksums them "
               "(bandwidth). Every payload is verified.")
        r.image(plots / "ipc.png", "IPC latency and bandwidth by message size (log scales)", "plots/ipc.png")
        r.table(["mechanism", "mode", "size (B)", "us per message", "MB/s", "messages/s"],
                [[i["mechanism"], i["mode"], fmt(i["size"]), fmt(i["us_per_message"]),
                  fmt(i["bytes_per_second"] / 1e6 if i.get("bytes_per_second") else None),
                  fmt(i.get("messages_per_second"))] for i in analysis["ipc"]])

    if analysis.get("psync"):
        r.heading("Process synchronisation")
        r.text("Shared counters (atomic vs process-shared mutex, robust mutex, semaphore; ns per "
               "increment), ping-pong hand-offs, a process-shared barrier, and a manager process "
               "reached over a socket against a table in shared memory.")
        r.table(["benchmark", "us per iteration", "ns per op", "CV"],
                [[q["benchmark"], fmt(q["us_per_iteration"]), fmt(q.get("ns_per_op")),
                  fmt(q["cv"], percent=True)] for q in analysis["psync"]])

    r.heading("All points")
    r.table(["workload", "model", "scaling", "n", "p", "median ms", "95% interval", "CV", "speedup",
             "efficiency", "Karp-Flatt", "verified"],
            [[p["workload"], p["model"], p["scaling"], fmt(p["n"]), p["p"], ms(p["median_s"]),
              f"[{ms(p['ci_low_s'])}, {ms(p['ci_high_s'])}]", fmt(p["cv"], percent=True),
              fmt(p.get("speedup")), fmt(p.get("efficiency")), fmt(p.get("karp_flatt")), fmt(p["verified"])]
             for p in analysis["points"]])

    disturbance = analysis.get("disturbance", [])
    if disturbance:
        r.heading("Disturbance")
        limit = analysis.get("disturbance_max")
        totals = [d["total"] for d in disturbance if d.get("total") is not None]
        rerun = [d for d in disturbance if d["attempts"] > 1]
        r.text("While each family ran, the CPU time stolen by the hypervisor (steal) and used by other "
               "processes (other), as fractions of the machine's CPU capacity (from /proc/stat, less the "
               "family's and the sweep's own CPU time)."
               + (f" A family above {limit:.0%} is run again (the least disturbed attempt is kept)." if
                  isinstance(limit, (int, float)) else "")
               + (f" Median {100 * sorted(totals)[len(totals) // 2]:.1f}%, largest {100 * max(totals):.1f}%, "
                  f"{len(rerun)} of {len(disturbance)} families re-run." if totals else ""))
        shown = [d for d in disturbance if (d.get("total") or 0) > 0.02 or d["attempts"] > 1]
        r.table(["family", "steal", "other", "total (kept)", "attempts (totals)"],
                [[d["family"] + (" (weak)" if d["weak"] else "") + (f" wait:{d['omp_wait']}" if d["omp_wait"] else ""),
                  _percent(d.get("steal")), _percent(d.get("other")), _percent(d.get("total")),
                  f"{d['attempts']} (" + ", ".join(_percent(t) for t in d["attempt_totals"]) + ")"
                  + (": reproduced, the family's own" if d.get("reproduced") else "")]
                 for d in sorted(shown, key=lambda d: -(d.get("total") or 0))])

    failures = analysis.get("failures", [])
    r.heading("Failed families")
    r.bullets([f"{f['family']}{' (weak)' if f.get('weak') else ''}: {f['status']}: {f.get('message', '')}"
               for f in failures] or ["none"])
    return r


def write_report(directory: Path) -> Path:
    directory = Path(directory)
    if not (directory / "plots").exists():
        plot_all(directory)
    report = build(directory)
    atomic_write_text(directory / "report.md", report.markdown())
    atomic_write_text(directory / "report.html", report.html(f"parbench report: {directory.name}"))
    return directory / "report.html"


def main(directory: str) -> int:
    path = write_report(Path(directory))
    print(f"report: {path} (and report.md)")
    return 0
