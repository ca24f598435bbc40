"""The change-point search on synthetic series in memory (history_synthetic.simulate: log-normal
noise of CV 2%, 5 repetitions a commit): steps are found at their commit with their size, also
a step every five commits (up and down by turns, or a staircase), spikes and stable series give
nothing, the newest commit is flagged on its own."""
import numpy as np
import pytest

from history_synthetic import make_series, simulate
from parbench import UserError
from parbench.history.changepoints import MIN_COMMITS, detect, find_regressions, usable_commits
from parbench.history.records import Point, Series


def series(steps=None, spikes=None, commits=14, seed=3, name="BM_x", machine="m1", level=2e-3) -> Series:
    times = simulate(level, commits, np.random.default_rng(seed), steps=steps, spikes=spikes)
    return make_series(name, machine, times)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_12_percent_step_is_one_change_at_its_commit_with_its_size(seed):
    one = series(steps={7: 1.12}, seed=seed)
    changes = find_regressions([one])
    assert [change.index for change in changes] == [7], changes
    change = changes[0]
    assert change.commit == one.points[7].commit
    assert (change.benchmark, change.machine) == ("BM_x", "m1")
    assert change.ratio == pytest.approx(1.12, abs=0.03)
    assert change.ci[0] <= 1.12 <= change.ci[1] and change.ci[0] > 1.0
    assert change.p_adjusted < 0.05 and change.p_value <= change.p_adjusted
    assert (change.before, change.after) == (7, 7) and not change.provisional
    # its interval is at the level its Holm-corrected test was judged at: one search, few candidates
    assert change.candidates >= 2 and 0.95 <= change.confidence < 1  # the split and the newest commit


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_one_commit_spike_is_no_change(seed):
    assert find_regressions([series(spikes={6: 1.25}, seed=seed)]) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_stable_series_has_no_change(seed):
    assert find_regressions([series(seed=seed)]) == []


def test_a_step_down_is_reported_faster():
    changes = find_regressions([series(steps={5: 0.88})])
    assert [change.index for change in changes] == [5]
    assert changes[0].ratio < 1 and changes[0].ci[1] < 1


def test_the_same_input_gives_the_same_output():
    given = [series(steps={7: 1.06}, seed=11), series(spikes={3: 1.3}, seed=12, name="BM_y")]
    first = find_regressions(given)
    assert first and first == find_regressions(given)
    assert detect([p.real_times for p in given[0].points]) == detect([p.real_times for p in given[0].points])


def test_two_steps_in_one_series_are_both_found():
    changes = find_regressions([series(steps={4: 1.15, 10: 1.15}, seed=5)])
    assert [change.index for change in changes] == [4, 10]
    assert all(change.ratio == pytest.approx(1.15, abs=0.04) for change in changes)


UP_AND_DOWN = {5: 1.15, 10: 1 / 1.15, 15: 1.15, 20: 1 / 1.15, 25: 1.15}
UNEVEN = {5: 1.2, 10: 0.8, 15: 1.25, 20: 0.85, 25: 1.3}   # a reviewer's case: only the last one was found
STAIRCASE = {5: 1.1, 10: 1.1, 15: 1.1, 20: 1.1, 25: 1.1}


@pytest.mark.parametrize("steps", [UP_AND_DOWN, UNEVEN, STAIRCASE], ids=["up-and-down", "uneven", "staircase"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_step_every_five_commits_is_each_found_at_its_commit(steps, seed):
    """Steps that go up and down balance: no split of the series leaves two sides that differ
    much, yet each step is one large jump between neighbours (the search's second test)."""
    changes = find_regressions([series(steps=steps, commits=30, seed=seed)])
    assert [change.index for change in changes] == [5, 10, 15, 20, 25], changes
    assert all(change.ratio == pytest.approx(steps[change.index], abs=0.04) for change in changes)
    assert all((change.before, change.after) == (5, 5) for change in changes)


@pytest.mark.parametrize("commits, every, seed", [(60, 5, 5), (60, 5, 11), (120, 10, 6)])
def test_steps_up_and_down_in_a_long_series_are_each_found_at_their_commit(commits, every, seed):
    """Between other steps a segment's largest Q can sit a commit off its step (these seeds did);
    the split is at the largest Q of the shorter intervals, around one step alone."""
    steps = {at: 1.1 if at % (2 * every) else 1 / 1.1 for at in range(every, commits - 1, every)}
    one = series(steps=steps, commits=commits, seed=seed)
    assert set(steps) <= set(detect([point.real_times for point in one.points]))
    assert [change.index for change in find_regressions([one])] == sorted(steps)


def test_machines_and_benchmarks_are_separate_series():
    found = find_regressions([series(steps={7: 1.12}, machine="m1"), series(machine="m2", level=3e-3),
                              series(seed=4, name="BM_y", machine="m1")])
    assert [(change.benchmark, change.machine, change.index) for change in found] == [("BM_x", "m1", 7)]


@pytest.mark.parametrize("commits", [0, 1, 2, 3])
def test_fewer_than_four_commits_give_no_change(commits):
    assert find_regressions([series(steps={1: 2.0}, commits=commits)]) == []
    assert find_regressions([]) == []


def test_commits_without_times_are_skipped_and_indices_stay_the_series():
    one = series(steps={7: 1.12})
    one.points[3] = Point(commit=one.points[3].commit, date=one.points[3].date, real_times=[])
    one.points[9].real_times[:] = [0.0, float("nan")] + one.points[9].real_times[2:]
    changes = find_regressions([one])
    assert [(change.index, change.before, change.after) for change in changes] == [(7, 6, 7)]


def test_a_step_at_the_newest_commit_is_flagged_on_that_commit_alone():
    one = series(steps={13: 1.12})
    changes = find_regressions([one])
    assert [(change.index, change.after) for change in changes] == [(13, 1)], changes
    assert changes[0].provisional and changes[0].commit == one.points[-1].commit
    assert changes[0].ratio == pytest.approx(1.12, abs=0.03)


def test_the_next_commit_confirms_a_newest_step_or_clears_a_spike():
    step = find_regressions([series(steps={13: 1.12}, commits=15)])
    assert [(change.index, change.after, change.provisional) for change in step] == [(13, 2, False)]
    assert find_regressions([series(spikes={13: 1.25}, commits=15)]) == []


def test_a_newest_commit_with_too_few_repetitions_is_not_flagged():
    one = series(steps={13: 1.12})
    one.points[13].real_times[:] = one.points[13].real_times[:2]
    assert find_regressions([one]) == []


def test_one_call_is_one_holm_family():
    """The same step among many stable series: its test is judged at a stricter level (Holm over
    every candidate of the call), so its interval is wider."""
    stepped = series(steps={7: 1.05}, seed=21)
    alone = find_regressions([stepped])
    crowd = find_regressions([stepped] + [series(seed=30 + i, name=f"BM_{i}") for i in range(20)])
    assert [change.index for change in alone] == [7] and crowd[0].benchmark == "BM_x"
    assert crowd[0].p_value == alone[0].p_value and crowd[0].p_adjusted >= alone[0].p_adjusted
    assert crowd[0].ci[0] <= alone[0].ci[0] and crowd[0].ci[1] >= alone[0].ci[1]
    assert crowd[0].ci[1] - crowd[0].ci[0] > alone[0].ci[1] - alone[0].ci[0]
    assert crowd[0].candidates >= alone[0].candidates + 20 and crowd[0].confidence > alone[0].confidence


def test_usable_commits_count_the_commits_with_a_time():
    one = series(commits=6)
    one.points[2] = Point(commit="x", date="", real_times=[])
    one.points[4].real_times[:] = [0.0, float("nan")]
    assert usable_commits(one) == 4 and MIN_COMMITS == 4


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 2.0])
def test_a_significance_level_outside_zero_to_one_is_refused(alpha):
    with pytest.raises(UserError, match="alpha"):
        find_regressions([series()], alpha)


def test_a_flat_series_without_spread_has_no_change():
    flat = Series("BM_flat", "m", "m", "", [Point(f"c{i}", "", [1e-3] * 5) for i in range(10)])
    assert find_regressions([flat]) == []
