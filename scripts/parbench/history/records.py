"""The records the history stages pass: what one sweep or file adds (Entry), what the store
gives back (EntryInfo, Series) and what a change-point search finds (Change)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Measurement:
    """One benchmark of one entry: every repetition's times (seconds) and counters."""
    real_times: list[float]
    cpu_times: list[float] = field(default_factory=list)
    counters: dict[str, list[float]] = field(default_factory=dict)
    error: str = ""                  # a failed run or verification: no times


@dataclass
class Entry:
    """What one `history add` stores: a sweep's folder or one Google Benchmark JSON file."""
    commit: str                      # full or short SHA, or any revision label the user gave
    dirty: bool                      # built from a tree with uncommitted changes
    branch: str                      # "" when unknown
    date: str                        # ISO 8601, UTC: when it ran
    machine: str                     # the machine's name as users call it (host name or --machine)
    fingerprint: str                 # what tells machines apart (a digest; the name when nothing else)
    config: str                      # the config's name ("" for a foreign file)
    config_hash: str                 # digest of the whole config: series never mix two
    source: str                      # the folder or file it came from
    benchmarks: dict[str, Measurement]
    verdicts: dict[str, str] = field(default_factory=dict)  # check's rows: check name -> PASS/WARN/FAIL
    content_hash: str = ""           # digest of the measured data: the same data twice is one entry
    sweep_id: str = ""               # the sweep's id (sweep.json): its folder added again with other data
    #                                  (resumed, re-run) replaces its earlier entry instead of pooling both
    commit_date: str = ""            # ISO 8601, UTC: the commit's committer date ("" when unknown)


@dataclass
class EntryInfo:
    """One stored entry as `history list` shows it."""
    id: int
    commit: str
    dirty: bool
    branch: str
    date: str
    machine: str
    config: str
    config_hash: str
    source: str
    benchmarks: int
    verdicts: dict[str, int]         # PASS/WARN/FAIL -> count
    commit_date: str = ""            # the commit's committer date, UTC ("" when unknown)


@dataclass
class Point:
    """One commit of a series: every repetition of every entry of that commit, pooled."""
    commit: str
    date: str                        # its earliest entry's date
    real_times: list[float]
    commit_date: str = ""            # the commit's committer date when any entry of it knows it, else ""

    @property
    def order(self) -> str:
        """Where the point sits in its series: the commit's date when known, else its earliest
        entry's (measurement order is not commit order: a CI base is measured after newer commits)."""
        return self.commit_date or self.date


@dataclass
class Series:
    """One benchmark on one machine under one config, in commit order."""
    benchmark: str
    machine: str
    fingerprint: str
    config_hash: str
    points: list[Point]


@dataclass
class Change:
    """A step between two segments of a series, confirmed by a test between them."""
    benchmark: str
    machine: str
    commit: str                      # the first commit after the change
    index: int                       # its position in the series' points
    ratio: float                     # median after / median before (>1: slower)
    ci: tuple[float, float]          # interval of the ratio, at the level of its corrected test
    p_value: float
    p_adjusted: float                # Holm over every candidate of the search
    before: int                      # commits in the segment before
    after: int                       # commits in the segment after
    confidence: float = 0.95         # the level of `ci` (that of its test after Holm's correction)
    candidates: int = 1              # how many candidates Holm's correction was over (the whole call)

    @property
    def provisional(self) -> bool:
        """Found at the newest commit on that commit alone: it may still be a spike."""
        return self.after == 1


def p_text(p: float) -> str:
    """A p-value as the history prints it: "<0.001" below 0.001, else two significant digits."""
    return "<0.001" if p < 0.001 else f"{p:.2g}"


def confidence_text(confidence: float) -> str:
    """An interval's level as a percentage, with the digits that keep it below 100%: 95%, 98.3%,
    99.98% (never 100.0%)."""
    digits = 1
    while digits < 6 and round(100 * confidence, digits) >= 100:
        digits += 1
    text = f"{100 * confidence:.{digits}f}".rstrip("0").rstrip(".")
    return text + "%"
