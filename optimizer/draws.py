"""Sampled futures: the capex, delay and own loss of every project and the loss event of every
country, one draw at a time or in vectorized blocks.

A draw (a *future*) fixes, as the contract defines them ("Risk by country and project"):

* **capex** of each project: triangular over ``[capex_low_musd, capex_high_musd]`` with its mode at
  the capex basis, by the inverse CDF of a uniform (so low == high needs no special case); also
  given as a multiplier of the capex at the basis (1.0 when that is 0);
* **delay** of each project: with its delay probability d years late, d uniform on
  ``1..max_delay_years`` (0 when that is 0); the project's own parameters, else its country's,
  else the Settings' (:func:`optimizer.risk.project_risk`);
* **own loss** of each project as an offset k: it is lost in year ``start + k``, its k-th year
  after its start, whatever start a plan gives it (so a re-optimized start year cannot dodge a
  drawn loss of its own). k is geometric, P(k = j) = (1 - q_p)^j q_p, with q_p its own yearly loss
  probability;
* **event year** of each country: the calendar year ``first_year + k`` of its loss event, k
  geometric with the country's yearly loss probability q_c (0 for a country without a Countries
  row). Every project of that country is lost from that year on.

A loss with probability 0, or more than :data:`NEVER_AFTER_YEARS` years away, is *never*:
:data:`~optimizer.cashflow.NEVER` in the arrays, None in a :class:`Future`. ``loss_multiplier``
scales every loss probability (capped at 1) without changing the uniforms, so a draw loses a
project no later under a larger multiplier (common random numbers for "what if every loss
probability doubled").

Random numbers. Each project has two streams, each country one, all
``PCG64(SeedSequence(seed, spawn_key=key))`` with ``h`` the first 16 bytes of the SHA-256 of the
id: a project's main stream (key ``(h,)``, three uniforms a draw: capex, whether it slips, by how
much, as in version 1), its loss stream (key ``(h, 1)``, one uniform a draw) and a country's stream
(key ``(h, 2)``, one uniform a draw). Draw i of a stream is reached by advancing the generator
(``PCG64.advance``), so draw i is the same whether it is sampled alone (:meth:`Sampler.future`),
in any block, or in one pass; and a project's or country's draws do not depend on which other
projects are sampled.

Units: money $M, years calendar years (offsets in whole years), probabilities fractions.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np

from .cashflow import NEVER
from .instance import Instance
from .risk import project_risk

NEVER_AFTER_YEARS = 10_000  # a loss this many years away (or more) counts as never
MAIN_UNIFORMS = 3  # uniforms a draw takes from a project's main stream: capex, slips?, slip size
COUNTRY_KEY, OWN_LOSS_KEY = 2, 1  # second spawn-key entries of the country and own-loss streams


def id_key(text: str) -> int:
    """The 128-bit integer of an id's SHA-256 (first 16 bytes, little-endian)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:16], "little")


def stream(seed: int, *key: int, skip: int = 0) -> np.random.Generator:
    """The generator of ``SeedSequence(seed, spawn_key=key)``, advanced by ``skip`` uniforms."""
    bits = np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key))
    if skip:
        bits.advance(skip)
    return np.random.Generator(bits)


def project_stream(seed: int, project_id: str, skip: int = 0) -> np.random.Generator:
    """A project's main stream (capex, slips?, slip size: three uniforms a draw)."""
    return stream(seed, id_key(project_id), skip=skip)


def own_loss_stream(seed: int, project_id: str, skip: int = 0) -> np.random.Generator:
    """A project's own-loss stream (one uniform a draw)."""
    return stream(seed, id_key(project_id), OWN_LOSS_KEY, skip=skip)


def country_stream(seed: int, country: str, skip: int = 0) -> np.random.Generator:
    """A country's loss-event stream (one uniform a draw)."""
    return stream(seed, id_key(country), COUNTRY_KEY, skip=skip)


def triangular_from_uniform(u: np.ndarray, low: np.ndarray, mode: np.ndarray,
                            high: np.ndarray) -> np.ndarray:
    """Inverse CDF of triangular(low, mode, high) at ``u`` (broadcast; low == high is allowed)."""
    low, mode, high = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (low, mode, high)))
    width = high - low
    f_mode = np.divide(mode - low, width, out=np.zeros_like(width), where=width > 0)
    # left of the mode: low + sqrt(u (high-low) (mode-low)); right: high - sqrt((1-u) (high-low)
    # (high-mode)). One square root serves both sides. Each side is picked by multiplying by 1.0
    # or 0.0 and adding (x * 1 + y * 0 = x exactly, for the finite values here): the numbers of
    # np.where(left_side, x, y), without its branch per element.
    left_side = np.asarray(u < f_mode, dtype=float)
    right_side = 1.0 - left_side
    root = np.asarray(u * (mode - low))
    root *= left_side
    right = np.asarray((1.0 - u) * (high - mode))
    right *= right_side
    root += right
    root *= width
    np.sqrt(root, out=root)
    out = np.asarray(low + root)
    out *= left_side
    np.subtract(high, root, out=right)
    right *= right_side
    out += right
    return out


def delay_from_uniforms(slips: np.ndarray, size: np.ndarray, probability: np.ndarray,
                        max_years: np.ndarray) -> np.ndarray:
    """Delay in years: ``min(floor(size x kmax) + 1, kmax)`` when ``slips < probability``, else 0
    (0 when kmax is 0). Arrays broadcast, e.g. (P, n) uniforms against (P, 1) parameters."""
    kmax = np.asarray(max_years, dtype=np.int64)
    years = np.asarray((size * kmax.astype(float)).astype(np.int64))  # a float product, exact
    years += 1
    np.minimum(years, kmax, out=years)
    slipped = (slips < probability) & (kmax > 0)
    if slipped.shape != years.shape:
        return np.where(slipped, years, 0)
    years *= slipped
    return years


def geometric_from_uniform(u: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """k with P(k = j) = (1 - q)^j q, j = 0, 1, ...: ``floor(log(1 - u) / log(1 - q))``; NEVER
    when q is 0 or k is :data:`NEVER_AFTER_YEARS` or more (int64; arrays broadcast)."""
    u, q = np.asarray(u, dtype=float), np.asarray(probability, dtype=float)
    shape = np.broadcast_shapes(u.shape, q.shape)
    some = q > 0.0
    if not some.any():  # no loss anywhere (a version 1 workbook): skip the logarithms
        return np.full(shape, NEVER, dtype=np.int64)
    # log(1 - q) once per probability, not once per draw (the same numbers); in place after
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.log1p(-u)
        k = np.divide(k, np.log1p(-np.minimum(q, 1.0)), out=k if k.shape == shape else None)
    np.floor(k, out=k)
    if (q >= 1.0).any():
        k = np.where(q >= 1.0, 0.0, k)
    np.nan_to_num(k, copy=False, nan=0.0, posinf=NEVER_AFTER_YEARS, neginf=0.0)
    np.minimum(k, NEVER_AFTER_YEARS, out=k)
    out = k.astype(np.int64)
    out[out >= NEVER_AFTER_YEARS] = NEVER
    if not some.all():
        out[~np.broadcast_to(some, shape)] = NEVER
    return out


def scaled(probability: float, multiplier: float) -> float:
    """A loss probability times ``multiplier``, capped at 1."""
    return min(1.0, probability * multiplier)


@dataclass(frozen=True)
class DrawBlock:
    """Draws ``first_draw .. first_draw + n - 1``: per project (rows in ``project_ids`` order,
    shape (P, n)) and per country (rows in ``countries`` order, shape (C, n))."""

    first_draw: int
    project_ids: tuple[str, ...]
    countries: tuple[str, ...]
    basis: np.ndarray  # (P, 1) capex at the capex basis, $M
    capex_uniform: np.ndarray  # (P, n) the uniform of the capex draw
    capex_musd: np.ndarray  # (P, n) drawn capex, $M
    delay: np.ndarray  # (P, n) int64 years late
    loss_offset: np.ndarray  # (P, n) int64: lost in year start + offset; NEVER: never
    event_year: np.ndarray  # (C, n) int64 calendar year of the country's event; NEVER: never
    # (both read-only views of NEVER when no project or country of the block can be lost)
    # True only when every loss_offset and event_year is NEVER (no loss probability anywhere,
    # as in a version 1 workbook): lets :meth:`lost_years` skip the arithmetic. False: unknown.
    never_lost: bool = False

    @property
    def n(self) -> int:
        return self.capex_musd.shape[1]

    @property
    def capex_multiplier(self) -> np.ndarray:
        """(P, n) drawn capex / capex at the basis (1.0 where the basis is 0)."""
        safe = np.where(self.basis != 0.0, self.basis, 1.0)
        return np.where(self.basis != 0.0, self.capex_musd / safe, 1.0)

    def lost_year(self, j: int, start: int, country: int | None) -> np.ndarray:
        """(n,) year project row ``j``, started in ``start``, is lost in (NEVER: never): its own
        loss year ``start + k`` or its country's (row ``country``) event year, the earlier. The
        row-by-row definition the tests check :meth:`lost_years` against."""
        own = np.where(self.loss_offset[j] >= NEVER, NEVER, start + self.loss_offset[j])
        if country is None:
            return own
        return np.minimum(own, self.event_year[country])

    def lost_years(self, starts: Sequence[int], countries: Sequence[int]) -> np.ndarray:
        """(P, n) :meth:`lost_year` of every project row, row ``j`` started in ``starts[j]`` in
        country row ``countries[j]``, in one step (read-only when :attr:`never_lost`)."""
        shape = self.loss_offset.shape
        if self.never_lost:
            return np.broadcast_to(np.int64(NEVER), shape)
        start = np.asarray(starts, dtype=np.int64).reshape(shape[0], 1)
        own = np.where(self.loss_offset >= NEVER, NEVER, start + self.loss_offset)
        return np.minimum(own, self.event_year[np.asarray(countries, dtype=np.intp)], out=own)

    def forced(self, *, capex_multiplier: float | Mapping[str, float] | None = None,
               delay: int | Mapping[str, int] | None = None,
               loss_offset: int | None | Mapping[str, int | None] = (),
               event_year: int | None | Mapping[str, int | None] = ()) -> "DrawBlock":
        """The same draws with some replaced by fixed values, for tests and what-ifs: a scalar
        applies to every project (country), a mapping to the ids it names. None for a loss means
        never; ``()`` (the default) leaves the losses as drawn."""
        changes = {}
        if capex_multiplier is not None:
            mult = self._rows(capex_multiplier, self.project_ids, np.ones_like(self.basis))
            changes["capex_musd"] = np.broadcast_to(mult * self.basis, self.capex_musd.shape).copy()
        if delay is not None:
            changes["delay"] = self._rows(delay, self.project_ids, self.delay)
        if loss_offset != ():
            changes["loss_offset"] = self._rows(loss_offset, self.project_ids, self.loss_offset)
            changes["never_lost"] = False
        if event_year != ():
            changes["event_year"] = self._rows(event_year, self.countries, self.event_year)
            changes["never_lost"] = False
        return replace(self, **changes)

    @staticmethod
    def _rows(value, ids: Sequence[str], current: np.ndarray) -> np.ndarray:
        out = np.array(current, copy=True)
        items = value.items() if isinstance(value, Mapping) else ((i, value) for i in ids)
        for key, v in items:
            if key in ids:
                out[list(ids).index(key)] = NEVER if v is None else v
        return out


@dataclass(frozen=True)
class ProjectDraw:
    """One project in one future."""

    capex_uniform: float
    capex_musd: float
    capex_multiplier: float  # capex_musd / capex at the basis (1.0 when that is 0)
    delay: int  # years late
    loss_offset: int | None  # lost in year start + loss_offset; None: never


@dataclass(frozen=True)
class Future:
    """Draw ``index``: every sampled project and country."""

    index: int
    projects: Mapping[str, ProjectDraw]
    event_year: Mapping[str, int | None]  # country -> year of its loss event; None: never

    def lost_year(self, instance: Instance, pid: str, start: int) -> int | None:
        """The year project ``pid``, started in ``start``, is lost in (None: never)."""
        own = self.projects[pid].loss_offset
        years = [start + own if own is not None else None,
                 self.event_year.get(instance.projects[pid].country)]
        found = [y for y in years if y is not None]
        return min(found) if found else None


class Sampler:
    """The seeded draws of ``project_ids`` (default: every project) and ``countries`` (default:
    every country of those projects and of the Countries sheet) of an instance.

    ``seed`` None: ``settings.seed``. ``loss_multiplier`` scales every loss probability (capped
    at 1)."""

    def __init__(self, instance: Instance, *, seed: int | None = None,
                 project_ids: Sequence[str] | None = None,
                 countries: Sequence[str] | None = None, loss_multiplier: float = 1.0):
        s = instance.settings
        self.seed = check_seed(s.seed if seed is None else seed)
        self.loss_multiplier = check_multiplier(loss_multiplier)
        self.instance = instance
        pids = tuple(instance.projects if project_ids is None else project_ids)
        if countries is None:
            countries = dict.fromkeys([instance.projects[p].country for p in pids]
                                      + list(instance.countries))
        self.project_ids, self.countries = pids, tuple(countries)
        self._streams: dict = {}  # (stream function, id) -> generator, positioned at self._next
        self._next = 0
        risks = [project_risk(instance, pid) for pid in pids]
        projects = [instance.projects[pid] for pid in pids]

        def column(values, dtype=float) -> np.ndarray:  # (P, 1): broadcasts over the draws
            return np.array(values, dtype=dtype).reshape(len(pids), 1)

        self.low = column([p.capex_low_musd for p in projects])
        self.high = column([p.capex_high_musd for p in projects])
        self.basis = column([p.capex(s.capex_basis) for p in projects])
        self.delay_probability = column([r.delay_probability for r in risks])
        self.max_delay_years = column([max(r.max_delay_years, 0) for r in risks], np.int64)
        m = self.loss_multiplier
        self.own_loss = column([scaled(r.own_loss, m) for r in risks])
        self.country_loss = np.array(
            [scaled(c.loss_probability, m) if (c := instance.countries.get(name)) else 0.0
             for name in self.countries], dtype=float).reshape(len(self.countries), 1)
        # rows that need arithmetic: a capex range, a chance to slip, a loss probability
        self._capex_rows = np.flatnonzero((self.high[:, 0] != self.low[:, 0])
                                          | (self.high[:, 0] != self.basis[:, 0]))
        self._slip_rows = np.flatnonzero((self.delay_probability[:, 0] > 0)
                                         & (self.max_delay_years[:, 0] > 0))
        self._own_rows = np.flatnonzero(self.own_loss[:, 0] > 0)
        self._event_rows = np.flatnonzero(self.country_loss[:, 0] > 0)

    def block(self, first_draw: int, n: int) -> DrawBlock:
        """Draws ``first_draw .. first_draw + n - 1``."""
        resume, self._next = first_draw == self._next, -1  # -1: streams not positioned
        n_proj, n_countries = len(self.project_ids), len(self.countries)
        u = np.empty((n_proj, n, MAIN_UNIFORMS))
        for j, pid in enumerate(self.project_ids):
            self._generator(project_stream, pid, first_draw, MAIN_UNIFORMS, resume).random(
                (n, MAIN_UNIFORMS), out=u[j])
        # A loss probability of 0 never reads its uniforms: its rows stay NEVER.
        own_u = np.empty((self._own_rows.size, n))
        for i, j in enumerate(self._own_rows):
            self._generator(own_loss_stream, self.project_ids[j], first_draw, 1, resume).random(
                n, out=own_u[i])
        event_u = np.empty((self._event_rows.size, n))
        for i, c in enumerate(self._event_rows):
            self._generator(country_stream, self.countries[c], first_draw, 1, resume).random(
                n, out=event_u[i])
        self._next = first_draw + n
        if self._own_rows.size:
            loss_offset = np.full((n_proj, n), NEVER, dtype=np.int64)
            loss_offset[self._own_rows] = geometric_from_uniform(
                own_u, self.own_loss[self._own_rows])
        else:  # nothing to draw: every row NEVER (read-only, as the draws need not be copied)
            loss_offset = np.broadcast_to(np.int64(NEVER), (n_proj, n))
        if self._event_rows.size:
            event_year = np.full((n_countries, n), NEVER, dtype=np.int64)
            k = geometric_from_uniform(event_u, self.country_loss[self._event_rows])
            event_year[self._event_rows] = np.where(
                k >= NEVER, NEVER, self.instance.settings.first_year + k)
        else:
            event_year = np.broadcast_to(np.int64(NEVER), (n_countries, n))
        return DrawBlock(
            first_draw=first_draw, project_ids=self.project_ids, countries=self.countries,
            basis=self.basis, capex_uniform=u[:, :, 0], capex_musd=self._capex(u[:, :, 0]),
            delay=self._delay(u[:, :, 1], u[:, :, 2]), loss_offset=loss_offset,
            event_year=event_year,
            never_lost=not (self._own_rows.size or self._event_rows.size))

    def _capex(self, uniform: np.ndarray) -> np.ndarray:
        """(P, n) triangular capex; a project with low == mode == high is its constant ``high``
        (what the inverse CDF gives: high - sqrt(0)), without the arithmetic."""
        return _on_rows(self._capex_rows, self.high, triangular_from_uniform, uniform, self.low,
                        self.basis, self.high)

    def _delay(self, slips: np.ndarray, size: np.ndarray) -> np.ndarray:
        """(P, n) delays; a project that cannot slip (probability 0 or no years) stays at 0."""
        return _on_rows(self._slip_rows, np.int64(0), delay_from_uniforms, slips, size,
                        self.delay_probability, self.max_delay_years)

    def _generator(self, make, name: str, first_draw: int, per_draw: int,
                   resume: bool) -> np.random.Generator:
        """The stream ``make(seed, name)`` at draw ``first_draw``: the one left by the previous
        block when that ended there (``resume``: blocks in order), else a new one advanced to
        it."""
        key = (make, name)
        if not resume or key not in self._streams:
            self._streams[key] = make(self.seed, name, per_draw * first_draw)
        return self._streams[key]

    def future(self, index: int) -> Future:
        """Draw ``index`` alone (the same as row ``index`` of any block holding it)."""
        b = self.block(index, 1)
        mult = b.capex_multiplier
        projects = {
            pid: ProjectDraw(capex_uniform=float(b.capex_uniform[j, 0]),
                             capex_musd=float(b.capex_musd[j, 0]),
                             capex_multiplier=float(mult[j, 0]), delay=int(b.delay[j, 0]),
                             loss_offset=never_as_none(b.loss_offset[j, 0]))
            for j, pid in enumerate(self.project_ids)}
        years = {c: never_as_none(b.event_year[i, 0]) for i, c in enumerate(self.countries)}
        return Future(index, projects, years)


def _on_rows(rows: np.ndarray, fill, fn, *arrays: np.ndarray) -> np.ndarray:
    """``fn(*arrays)`` computed on project rows ``rows`` only, every other row ``fill`` (a
    scalar or a (P, 1) column, whose dtype is the result's); ``fn`` on every array whole when
    every row needs it. ``arrays[0]`` is (P, n), the others (P, n) or (P, 1)."""
    if rows.size == arrays[0].shape[0]:
        return fn(*arrays)
    out = np.empty(arrays[0].shape, dtype=np.result_type(fill))
    out[:] = fill
    if rows.size:
        out[rows] = fn(*(a[rows] for a in arrays))
    return out


def never_as_none(value) -> int | None:
    return None if value >= NEVER else int(value)


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    return int(seed)


def check_multiplier(multiplier) -> float:
    if (isinstance(multiplier, bool) or not isinstance(multiplier, (int, float, np.number))
            or not math.isfinite(multiplier) or multiplier < 0):
        raise ValueError(f"loss_multiplier must be a finite number >= 0, not {multiplier!r}")
    return float(multiplier)
