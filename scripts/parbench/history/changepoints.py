"""Step changes in a benchmark's times over commit order, as Apache Otava (formerly Hunter) and
MongoDB's performance CI find them: E-divisive means (Matteson & James, 2014), then a test
between the segments it leaves.

1. Search. Each commit is reduced to the median of its repetitions' log times (logs: a step is
   a ratio; medians: one slow repetition moves nothing). The series is bisected recursively as
   E-divisive does: a segment is split when a seeded permutation test (fixed seeds: the same
   input gives the same output) finds a change in it, and both sides are searched again.
   Two tests, each at alpha: E-divisive's (the largest energy statistic Q over the segment's
   splits, rarely that large in the shuffled segment), and von Neumann's ratio of successive
   differences (neighbouring commits rarely that close). The second finds steps that go up and
   down: no split of such a segment leaves two sides that differ much, and E-divisive's test
   alone stopped there (±20% steps every 5 commits in 2% noise: only the last one was found).
   The split is at the largest Q over the segment and its seeded intervals (Kovacs et al.,
   2023: halves, quarters... each overlapping the next by half), so a step between others is
   split at its own commit, not one off. Two tests propose more splits of a stable series
   than one would; the confirmation drops them. Every segment keeps at least two commits, so
   a one-commit spike can never be a segment of its own.
2. Confirmation. Each candidate is tested between its two neighbouring segments on their
   repetitions, with parbench.stats.holm_band_tests: is median(after) / median(before) beyond
   the noise band, with Holm's correction over every candidate of every series of the call (so
   one database of many benchmarks does not raise one false alarm per hundred of them). The
   band is the commit-to-commit spread (CV) of the per-commit medians: the larger of the two
   segments' and the series' own (pooled within its segments). That is the noise between runs,
   which the repetitions of one run do not show (they share its machine state), and it stops a
   spike that the search left inside a short segment: that segment's medians spread as wide as
   the spike, so the step across it is not beyond its band.
   A candidate that is not confirmed is dropped and its neighbours are tested again across the
   merged segment (as Otava drops weak change points), until every one left is confirmed; the
   dropped ones stay in Holm's family, which never shrinks.
3. The newest commit. A step at the newest commit leaves a last segment of one commit, which
   the search cannot see. So the newest commit is also a candidate on its own: it is reported
   only when its own repetitions (at least MIN_TEST_REPETITIONS) are beyond NEWEST_BAND times
   the band of the segment before it (at least two commits, whose medians give the noise): one
   commit is one draw, so it must lie where an unchanged commit's median rarely falls.
   Such a change has `after == 1` (Change.provisional): it rests on one commit and may still
   be a spike. The next commit tells: a spike then sits inside a segment and is not reported;
   a real step is found by the search and confirmed with two commits after it. This is what
   lets `history regressions --fail-on-latest` stop the commit that regressed, not the one
   after it; `--fail-since REV` also stops a step that only a later commit confirmed.
Each Change carries its interval's level (`confidence`, that of its Holm-corrected test) and
the size of the Holm family (`candidates`), which `history regressions` prints.

A series of fewer than MIN_COMMITS (four) usable commits (commits with no positive time are
skipped: usable_commits) has no change. Machines are never mixed: each Series is one machine
and config already.
`/usr/bin/python3 tests/python/history_synthetic.py --study` measures detection rate and false
alarms on synthetic series.
"""
from __future__ import annotations

import numpy as np

from .. import UserError
from ..stats import MIN_TEST_REPETITIONS, coefficient_of_variation, holm_band_tests
from .records import Change, Series

MIN_SEGMENT = 2          # commits: a one-commit spike is never a segment
MIN_COMMITS = 2 * MIN_SEGMENT
PERMUTATIONS = 199       # at least; the permutation test's resolution is 1 / (permutations + 1)
SMOOTHNESS_PERMUTATIONS = 999  # von Neumann's test costs little: fewer near-misses by chance
PERMUTATION_BATCH = 25   # shuffles evaluated at once, between looks for early stopping (doubling)
BATCH_CELLS = 4_000_000  # at most this many pairwise distances at once (a long series: fewer shuffles a batch)
SEED = 20240528
MIN_INTERVAL = 3 * MIN_SEGMENT  # commits: the shortest interval a split is looked for in
NEWEST_BAND = 2.0        # ~ a 95% prediction band for one more commit's median


def _energy(values: np.ndarray) -> np.ndarray:
    """E-divisive's statistic Q(tau) for every split tau with MIN_SEGMENT values on each side,
    for each row of values (rows: the series, or its shuffles). Column t is tau = MIN_SEGMENT + t.
    Q = m k / (m + k) * (2 mean|X - Y| - mean|X - X'| - mean|Y - Y'|), X = values[:tau],
    Y = values[tau:], m and k their lengths (Matteson & James, with exponent 1)."""
    n = values.shape[-1]
    distances = np.triu(np.abs(values[..., :, None] - values[..., None, :]), 1)
    left = np.cumsum(distances.sum(axis=-2), axis=-1)       # left[t]: pairs within values[:t + 1]
    right = np.cumsum(distances.sum(axis=-1)[..., ::-1], axis=-1)[..., ::-1]  # right[t]: within values[t:]
    taus = np.arange(MIN_SEGMENT, n - MIN_SEGMENT + 1)
    within_left, within_right = left[..., taus - 1], right[..., taus]
    between = left[..., -1:] - within_left - within_right
    m, k = taus.astype(float), (n - taus).astype(float)
    divergence = (2 * between / (m * k) - within_left / (m * (m - 1) / 2) - within_right / (k * (k - 1) / 2))
    return m * k / (m + k) * divergence


def _seeded_intervals(n: int) -> list[tuple[int, int]]:
    """Seeded binary segmentation's intervals [a, b) of a segment of n commits (Kovacs, Li,
    Buhlmann & Munk, Biometrika 2023): the segment itself, then at each halving of the length
    twice as many intervals, overlapping their neighbours by half, down to MIN_INTERVAL commits."""
    intervals, layer = {(0, n): None}, 1
    while n / 2 ** layer >= MIN_INTERVAL:
        length, count = n / 2 ** layer, 2 ** (layer + 1) - 1
        shift = (n - length) / (count - 1)
        intervals.update({(round(i * shift), round(i * shift + length)): None for i in range(count)})
        layer += 1
    return list(intervals)


def _best_split(values: np.ndarray) -> int:
    """Where a segment with a change is split: at the largest Q of any of its seeded intervals,
    the segment itself first. Where steps go up and down, the segment's own Q is flat between
    them and its largest can miss a step by a commit (which MIN_SEGMENT then keeps); a short
    interval around one step alone has its Q peak right at that step."""
    best, where = -np.inf, 0
    for a, b in _seeded_intervals(len(values)):
        statistics = _energy(values[a:b])
        at = int(np.argmax(statistics))
        if statistics[at] > best + 1e-12:
            best, where = statistics[at], a + MIN_SEGMENT + at
    return where


def _largest_split(rows: np.ndarray) -> np.ndarray:
    """E-divisive's test statistic: the largest Q of each row."""
    return _energy(rows).max(axis=-1)


def _smoothness(rows: np.ndarray) -> np.ndarray:
    """Von Neumann's ratio, negated (larger: farther from no change): the sum of squared
    differences between neighbouring commits over the sum of squares around the mean. A step
    raises only the second (it is one large difference), so every step of a segment counts,
    whichever way each goes; a one-commit spike raises both about alike."""
    centred = rows - rows.mean(axis=-1, keepdims=True)
    return -(np.diff(rows, axis=-1) ** 2).sum(axis=-1) / (centred ** 2).sum(axis=-1)


def _rare(values: np.ndarray, statistic, alpha: float, rng: np.random.Generator, cells: int,
          permutations: int = PERMUTATIONS) -> bool:
    """The permutation test: is statistic(values) (larger: farther from no change) reached by
    at most a fraction alpha of the shuffled segments (p = (1 + exceedances) / (permutations + 1))?
    cells: the memory one shuffle takes; permutations: at least that many shuffles. It stops as
    soon as p can no longer fall below alpha (most segments of a stable series stop after a few
    dozen shuffles)."""
    # a tie with the observed value counts against it (a flat segment is no change)
    observed = statistic(values[None])[0] - 1e-12
    # enough shuffles for p <= alpha to be reachable
    permutations = max(permutations, int(np.ceil(10 / alpha)) - 1)
    allowed = int(np.floor(alpha * (permutations + 1) + 1e-9)) - 1   # exceedances that keep p <= alpha
    exceedances, done, batch = 0, 0, PERMUTATION_BATCH
    while done < permutations:
        batch = min(batch, permutations - done, max(1, BATCH_CELLS // cells))
        shuffled = rng.permuted(np.broadcast_to(values, (batch, len(values))), axis=1)
        exceedances += int(np.count_nonzero(statistic(shuffled) >= observed))
        done, batch = done + batch, batch * 2
        if exceedances > allowed:
            return False
    return True


def _split(values: np.ndarray, alpha: float, seed: list[int]) -> int | None:
    """Where to split one segment when a permutation test finds a change in it, else None. Two
    tests, each at alpha: von Neumann's ratio (neighbouring commits rarely that close), first
    as it costs little, then E-divisive's own (a largest Q rarely that large). E-divisive's
    alone misses steps that go up and down: when a segment's steps balance, none of its splits
    leaves two sides that differ much, so the search stopped there, while each step is still
    one large jump between close neighbours."""
    if np.ptp(values) == 0:
        return None
    if _rare(values, _smoothness, alpha, np.random.default_rng([*seed, 1]), len(values), SMOOTHNESS_PERMUTATIONS) or \
            _rare(values, _largest_split, alpha, np.random.default_rng(seed), len(values) ** 2):
        return _best_split(values)
    return None


def detect(values_per_commit: list[list[float]], alpha: float = 0.05) -> list[int]:
    """E-divisive's candidate change points of one series (the search alone, no confirmation):
    the indices of the first commit after each split, ascending. values_per_commit: every
    repetition's time of each commit, in commit order; every commit must have a positive time."""
    medians = np.array([np.median(np.log(np.asarray(times, dtype=float))) for times in values_per_commit])
    found: list[int] = []
    pending = [(0, len(medians))]
    while pending:
        start, end = pending.pop()
        if end - start < MIN_COMMITS:
            continue
        # seeded by the segment, not by the order of the search: the same series, the same answer
        split = _split(medians[start:end], alpha, [SEED, start, end])
        if split is not None:
            found.append(start + split)
            pending += [(start, start + split), (start + split, end)]
    return sorted(found)


def usable_commits(series: Series) -> int:
    """The commits of a series with a positive time: the search needs MIN_COMMITS of them."""
    return sum(1 for point in series.points if any(t > 0 and np.isfinite(t) for t in point.real_times))


class _Search:
    """One series under confirmation: its usable commits and the candidates still standing."""

    def __init__(self, series: Series, alpha: float):
        usable = [(index, np.asarray([t for t in point.real_times if t > 0 and np.isfinite(t)], dtype=float))
                  for index, point in enumerate(series.points)]
        usable = [(index, times) for index, times in usable if len(times)]
        self.series = series
        self.indices = [index for index, _ in usable]
        self.repetitions = [times for _, times in usable]
        self.medians = np.array([np.median(times) for times in self.repetitions])
        self.candidates: list[int] = []
        if len(usable) >= MIN_COMMITS:
            self.candidates = detect([list(times) for times in self.repetitions], alpha)
            newest = len(usable) - 1
            if len(self.repetitions[newest]) >= MIN_TEST_REPETITIONS:
                self.candidates.append(newest)

    def bounds(self) -> list[int]:
        """Where the segments begin, and the end. The newest commit's candidate is no bound
        while a candidate stands right before it: it waits (its segment before is one commit)."""
        newest = len(self.medians) - 1
        waiting = newest in self.candidates and newest - 1 in self.candidates
        return [0, *(c for c in self.candidates if not (waiting and c == newest)), len(self.medians)]

    def segments(self, candidate: int) -> tuple[int, int, int] | None:
        """(start of the segment before, the candidate, end of the segment after); None while
        the candidate waits."""
        bounds = self.bounds()
        if candidate not in bounds:
            return None
        at = bounds.index(candidate)
        return bounds[at - 1], candidate, bounds[at + 1]

    def noise(self, start: int, middle: int, end: int) -> float:
        """The band a step must clear: the commit-to-commit spread (CV) of the per-commit
        medians, the larger of the two segments' and the whole series' (pooled within its
        segments: a two-commit segment's own CV can come out near zero by chance). A newest
        commit alone must clear NEWEST_BAND times that: it is one draw, so it must lie where an
        unchanged commit's median rarely falls, not merely beyond the typical spread."""
        spread = max(coefficient_of_variation(self.medians[start:middle]),
                     coefficient_of_variation(self.medians[middle:end]), self.pooled_spread())
        return spread * (NEWEST_BAND if end - middle == 1 else 1.0)

    def pooled_spread(self) -> float:
        """The standard deviation of log median around its segment's mean, over all segments."""
        bounds = self.bounds()
        logs = np.log(self.medians)
        residuals = np.concatenate([logs[a:b] - logs[a:b].mean() for a, b in zip(bounds, bounds[1:])])
        freedom = len(logs) - (len(bounds) - 1)
        return float(np.sqrt((residuals ** 2).sum() / freedom)) if freedom > 0 else 0.0

    def comparison(self, candidate: int) -> tuple[np.ndarray, np.ndarray, float] | None:
        """The pooled repetitions before and after, and the noise band; None while the candidate
        waits."""
        segments = self.segments(candidate)
        if segments is None:
            return None
        start, middle, end = segments
        return (np.concatenate(self.repetitions[start:middle]), np.concatenate(self.repetitions[middle:end]),
                self.noise(start, middle, end))


def _tested(searches: list[_Search], dropped: list[tuple], alpha: float) -> list[tuple[_Search, int, dict]]:
    """Every standing candidate that can be tested, with its verdict (and "candidates": the
    size of its Holm family): one Holm family with the ones dropped before (their last
    comparison), so the family never shrinks."""
    standing = [(search, candidate, search.comparison(candidate))
                for search in searches for candidate in search.candidates]
    standing = [(search, candidate, compared) for search, candidate, compared in standing if compared]
    family = [compared for _, _, compared in standing] + dropped
    verdicts = holm_band_tests([(a, b) for a, b, _ in family], [noise for _, _, noise in family], alpha)
    return [(search, candidate, dict(verdict, candidates=len(family)))
            for (search, candidate, _), verdict in zip(standing, verdicts)]


def _confirm(searches: list[_Search], alpha: float) -> list[tuple[_Search, int, dict]]:
    """Drops, round by round, each series' weakest unconfirmed candidate until every candidate
    standing is confirmed; returns them with their verdicts."""
    dropped: list[tuple] = []
    while True:
        tested = _tested(searches, dropped, alpha)
        weakest: dict[int, tuple[_Search, int, dict]] = {}
        for search, candidate, verdict in tested:
            if not verdict["significant"]:
                known = weakest.get(id(search))
                if known is None or verdict["p_value"] >= known[2]["p_value"]:
                    weakest[id(search)] = (search, candidate, verdict)
        if not weakest:
            return tested
        for search, candidate, _ in weakest.values():
            dropped.append(search.comparison(candidate))
            search.candidates.remove(candidate)


def find_regressions(series: list[Series], alpha: float = 0.05) -> list[Change]:
    """Every confirmed step change of every series (faster or slower), in the order given and
    then commit order. One call is one Holm family: pass every series the answer is about."""
    if not 0 < alpha < 1:
        raise UserError(f"alpha {alpha}: give a significance level between 0 and 1 (e.g. 0.05)")
    searches = [_Search(one, alpha) for one in series]
    position = {id(search): number for number, search in enumerate(searches)}
    changes = []
    for search, candidate, verdict in _confirm(searches, alpha):
        start, middle, end = search.segments(candidate)
        index = search.indices[middle]
        changes.append((position[id(search)], middle, Change(
            benchmark=search.series.benchmark, machine=search.series.machine,
            commit=search.series.points[index].commit, index=index, ratio=verdict["ratio"],
            ci=(verdict["ci"][0], verdict["ci"][1]), p_value=verdict["p_value"],
            p_adjusted=verdict["p_adjusted"], before=middle - start, after=end - middle,
            confidence=verdict["confidence"], candidates=verdict["candidates"])))
    return [change for _, _, change in sorted(changes, key=lambda item: item[:2])]
