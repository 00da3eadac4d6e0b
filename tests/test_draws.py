"""Sampled futures (optimizer/draws.py): distributions, random access, common random numbers.

Hand cases on a 10-year horizon from 2026; probabilities are checked within 4 standard errors of
the draws (the seed is fixed, so each check passes or fails the same way every run).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from optimizer.cashflow import NEVER
from optimizer.draws import (NEVER_AFTER_YEARS, Sampler, country_stream, geometric_from_uniform,
                             own_loss_stream, project_stream, triangular_from_uniform)
from optimizer.instance import Country, Instance, Mineral, Project, Settings

FIRST = 2026
Z = 4.0


def project(pid, *, country="X", low=100.0, high=200.0, loss=0.0, delay_probability=None,
            max_delay_years=None) -> Project:
    return Project(pid, pid, "plant", "m", country, capex_low_musd=low, capex_high_musd=high,
                   build_years=2, earliest_start=FIRST, latest_start=FIRST + 5, capacity_tpa=10.0,
                   npv_musd=5.0, loss_probability=loss, delay_probability=delay_probability,
                   max_delay_years=max_delay_years)


def instance(projects, countries=(), **settings) -> Instance:
    s = Settings(first_year=FIRST, horizon_years=10, **settings)
    return Instance(settings=s, minerals={"m": Mineral("m", us_demand_t=100.0, china_share=0.5)},
                    projects={p.project_id: p for p in projects},
                    budget={t: 1e6 for t in s.years}, countries={c.country: c for c in countries})


def lossy() -> Instance:
    return instance([project("A", loss=0.1), project("B", country="Y", loss=0.3),
                     project("C", country="Z", delay_probability=0.9, max_delay_years=4)],
                    [Country("X", loss_probability=0.05), Country("Y", loss_probability=0.2,
                                                                  delay_probability=0.0)])


def assert_prob(sampled, exact, n):
    se = math.sqrt(max(exact * (1.0 - exact), 1e-12) / n)
    assert abs(sampled - exact) <= Z * se, (sampled, exact, se)


def test_geometric_inverse_cdf():
    """k = floor(log(1 - u) / log(1 - q)) has P(k = j) = (1 - q)^j q; q = 0 and far-off losses
    are never; q = 1 is the first year."""
    n, q = 200_000, 0.2
    u = np.random.default_rng(1).random(n)
    k = geometric_from_uniform(u, q)
    for j in range(5):
        assert_prob(float(np.mean(k == j)), (1 - q) ** j * q, n)
    assert np.all(geometric_from_uniform(u, 0.0) == NEVER)
    assert np.all(geometric_from_uniform(u, 1.0) == 0)
    tiny = geometric_from_uniform(np.array([0.5, 1e-300]), 1e-12)
    assert tiny[0] == NEVER and tiny[1] == 0  # ~7e11 years away: never; u ~ 0: the first year
    assert NEVER_AFTER_YEARS < NEVER
    # year j takes the uniforms from 1 - (1 - q)^j: 0, 0.2, 0.36, ...
    got = geometric_from_uniform(np.array([0.0, 0.199, 0.201, 0.359, 0.361]), 0.2)
    assert got.tolist() == [0, 0, 1, 1, 2]


def test_draws_are_the_same_whatever_block_or_order_they_come_in():
    inst = lossy()
    whole = Sampler(inst, seed=5).block(0, 700)
    sampler = Sampler(inst, seed=5)
    parts = [sampler.block(lo, n) for lo, n in ((0, 250), (250, 1), (251, 449))]  # in order
    jumped = Sampler(inst, seed=5).block(300, 100)  # advanced straight to draw 300
    for name in ("capex_uniform", "capex_musd", "delay", "loss_offset", "event_year"):
        np.testing.assert_array_equal(np.hstack([getattr(b, name) for b in parts]),
                                      getattr(whole, name))
        np.testing.assert_array_equal(getattr(jumped, name), getattr(whole, name)[:, 300:400])
    for i in (0, 299, 699):
        future = Sampler(inst, seed=5).future(i)
        for j, pid in enumerate(whole.project_ids):
            draw = future.projects[pid]
            assert draw.capex_musd == whole.capex_musd[j, i]
            assert draw.delay == whole.delay[j, i]
            assert (NEVER if draw.loss_offset is None else draw.loss_offset) == \
                whole.loss_offset[j, i]
        for c, name in enumerate(whole.countries):
            year = future.event_year[name]
            assert (NEVER if year is None else year) == whole.event_year[c, i]


def test_capex_and_delay_come_from_the_version_1_streams():
    """Capex and delay use the three uniforms a draw of version 1 took from the project's main
    stream (capex, slips?, slip size), so a version 1 workbook keeps its capex and delay draws."""
    inst = instance([project("A")], delay_probability=0.3, max_delay_years=3)
    block = Sampler(inst, seed=9).block(0, 1000)
    u = project_stream(9, "A").random((1000, 3))
    np.testing.assert_array_equal(block.capex_uniform[0], u[:, 0])
    np.testing.assert_array_equal(block.capex_musd[0],
                                  triangular_from_uniform(u[:, 0], 100.0, 150.0, 200.0))
    slips = np.where(u[:, 1] < 0.3, np.minimum((u[:, 2] * 3).astype(int) + 1, 3), 0)
    np.testing.assert_array_equal(block.delay[0], slips)
    np.testing.assert_allclose(block.capex_multiplier[0], block.capex_musd[0] / 150.0)
    assert np.all(block.loss_offset == NEVER) and np.all(block.event_year == NEVER)


def test_loss_distributions_and_delay_parameters():
    """A: own 10%/y in X (event 5%/y); B: own 30%/y in Y (event 20%/y, no delays); C in Z (no
    row, never lost; its own delay 90%, 1..4 years)."""
    n = 100_000
    block = Sampler(lossy(), seed=2).block(0, n)
    a, b, c = range(3)
    assert_prob(float(np.mean(block.loss_offset[a] == 0)), 0.1, n)
    assert_prob(float(np.mean(block.loss_offset[b] <= 1)), 1 - 0.7 ** 2, n)
    assert np.all(block.loss_offset[c] == NEVER)
    x, y, z = (block.countries.index(name) for name in ("X", "Y", "Z"))
    assert_prob(float(np.mean(block.event_year[x] == FIRST)), 0.05, n)
    assert_prob(float(np.mean(block.event_year[y] <= FIRST + 2)), 1 - 0.8 ** 3, n)
    assert np.all(block.event_year[z] == NEVER)
    assert np.all(block.delay[b] == 0)  # Y's delay probability 0 overrides the Settings' 0.3
    assert_prob(float(np.mean(block.delay[a] == 0)), 0.7, n)  # Settings: 0.3, 1..3 years
    assert set(np.unique(block.delay[a])) == {0, 1, 2, 3}
    assert_prob(float(np.mean(block.delay[c] == 4)), 0.9 / 4, n)  # its own: 0.9, 1..4 years


def test_a_loss_is_fixed_in_years_after_the_start_and_country_events_in_calendar_years():
    """The same future at two start years: a project's own loss moves with its start (its k-th
    year), a country's event stays in its calendar year; the earlier of the two counts."""
    inst = lossy()
    sampler = Sampler(inst, seed=4)
    for i in range(200):
        future = sampler.future(i)
        k = future.projects["A"].loss_offset
        event = future.event_year["X"]
        for start in (FIRST, FIRST + 3):
            own = None if k is None else start + k
            expected = min([y for y in (own, event) if y is not None], default=None)
            assert future.lost_year(inst, "A", start) == expected
        assert future.lost_year(inst, "C", FIRST) is None  # Z: no row, C no own loss


def test_a_larger_loss_multiplier_loses_every_project_no_later():
    """Common random numbers: under twice the probabilities every loss of a draw comes at the
    same time or earlier; a multiplier of 0 loses nothing; probabilities are capped at 1."""
    inst = lossy()
    once = Sampler(inst, seed=8).block(0, 20_000)
    twice = Sampler(inst, seed=8, loss_multiplier=2.0).block(0, 20_000)
    assert np.all(twice.loss_offset <= once.loss_offset)
    assert np.all(twice.event_year <= once.event_year)
    assert np.any(twice.loss_offset < once.loss_offset)
    np.testing.assert_array_equal(twice.capex_musd, once.capex_musd)
    np.testing.assert_array_equal(twice.delay, once.delay)
    assert_prob(float(np.mean(twice.loss_offset[0] == 0)), 0.2, 20_000)
    none = Sampler(inst, seed=8, loss_multiplier=0.0).block(0, 100)
    assert np.all(none.loss_offset == NEVER) and np.all(none.event_year == NEVER)
    certain = Sampler(inst, seed=8, loss_multiplier=10.0).block(0, 100)  # 10 x 0.1, 10 x 0.2
    assert np.all(certain.loss_offset[0] == 0) and np.all(certain.loss_offset[1] == 0)
    assert np.all(certain.event_year[certain.countries.index("Y")] == FIRST)


def test_draws_do_not_depend_on_the_other_projects_or_countries():
    inst = lossy()
    alone = Sampler(inst, seed=3, project_ids=["A"], countries=["X"]).block(0, 500)
    many = Sampler(inst, seed=3, project_ids=["C", "B", "A"]).block(0, 500)
    j = many.project_ids.index("A")
    for name in ("capex_musd", "delay", "loss_offset"):
        np.testing.assert_array_equal(getattr(many, name)[j], getattr(alone, name)[0])
    np.testing.assert_array_equal(many.event_year[many.countries.index("X")],
                                  alone.event_year[0])


def test_project_and_country_streams_are_distinct():
    """A country named like a project does not share the project's uniforms."""
    streams = [project_stream(1, "A").random(30)[::3], own_loss_stream(1, "A").random(10),
               country_stream(1, "A").random(10)]
    for i in range(3):
        for j in range(i + 1, 3):
            assert not np.any(np.isin(streams[i], streams[j]))


def test_forced_draws():
    inst = lossy()
    block = Sampler(inst, seed=1).block(0, 50)
    forced = block.forced(capex_multiplier=1.25, delay={"B": 2}, loss_offset=None,
                          event_year={"Y": FIRST + 4})
    np.testing.assert_allclose(forced.capex_musd, np.broadcast_to(1.25 * block.basis, (3, 50)))
    np.testing.assert_array_equal(forced.delay[1], 2)
    np.testing.assert_array_equal(forced.delay[[0, 2]], block.delay[[0, 2]])
    assert np.all(forced.loss_offset == NEVER)
    y = block.countries.index("Y")
    assert np.all(forced.event_year[y] == FIRST + 4)
    others = [c for c in range(len(block.countries)) if c != y]
    np.testing.assert_array_equal(forced.event_year[others], block.event_year[others])
    np.testing.assert_array_equal(forced.lost_year(1, FIRST + 1, y), FIRST + 4)
    unchanged = block.forced()  # nothing forced: the draws as they are
    assert all(getattr(unchanged, name) is getattr(block, name)
               for name in ("capex_musd", "delay", "loss_offset", "event_year"))


@pytest.mark.parametrize("kwargs", [{"seed": -1}, {"seed": 1.5}, {"loss_multiplier": -0.5},
                                    {"loss_multiplier": float("nan")}])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        Sampler(lossy(), **kwargs)


def test_lost_years_in_one_step_equal_lost_year_row_by_row():
    """DrawBlock.lost_years (every row at once) is lost_year of each row, with losses, with
    forced losses and without any loss probability (then a read-only view of NEVER)."""
    inst = lossy()
    block = Sampler(inst, seed=6).block(0, 500)
    rows = [block.countries.index(inst.projects[pid].country) for pid in block.project_ids]
    starts = [FIRST + 2 * j for j in range(len(rows))]
    for b in (block, block.forced(loss_offset=1), block.forced(event_year={"X": FIRST + 3})):
        np.testing.assert_array_equal(
            b.lost_years(starts, rows),
            np.array([b.lost_year(j, s, c) for j, (s, c) in enumerate(zip(starts, rows))]))
    none = Sampler(inst, seed=6, loss_multiplier=0.0).block(0, 50)
    assert none.never_lost and not block.never_lost
    assert np.all(none.lost_years(starts, rows) == NEVER)


def test_triangular_capex_is_the_inverse_cdf_bit_for_bit():
    """The branch-free triangular draw gives exactly the numbers of the plain formula
    (np.where on the side of the mode), including low == high and a mode at either end."""
    rng = np.random.default_rng(11)
    u = rng.random((6, 4000))
    u[:, :3] = [0.0, 0.5, 1.0 - 2.0 ** -53]
    low = np.array([[100.0], [100.0], [100.0], [0.0], [50.0], [7.5]])
    high = np.array([[100.0], [150.0], [150.0], [0.0], [600.0], [9.25]])
    mode = np.array([[100.0], [100.0], [150.0], [0.0], [230.0], [8.0]])
    width = high - low
    f_mode = np.divide(mode - low, width, out=np.zeros_like(width), where=width > 0)
    left = u < f_mode
    root = np.sqrt(np.where(left, u * (mode - low), (1.0 - u) * (high - mode)) * width)
    expected = np.where(left, low + root, high - root)
    assert triangular_from_uniform(u, low, mode, high).tobytes() == expected.tobytes()
    assert float(triangular_from_uniform(np.array(0.25), 100.0, 150.0, 200.0)) == \
        100.0 + math.sqrt(0.25 * 100.0 * 50.0)
