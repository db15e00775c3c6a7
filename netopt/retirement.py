"""Retirements of traction batteries from sales cohorts with a Weibull lifetime.

A *cohort* (or vintage) ``v`` is the amount of batteries installed (sold) in year ``v``,
in any unit: GWh, packs, tonnes. Lifetimes are Weibull with shape ``k`` and a mean life
``mean_life``; the scale follows from ``mean_life = scale * Gamma(1 + 1/k)``.

Convention: a cohort is installed at fraction ``installed_at`` of its year (default 0.5,
mid-year) and calendar year ``t`` runs from ``t`` to ``t + 1``. A unit of vintage ``v``
retiring in year ``t`` therefore has an age between ``a0 = t - v - installed_at`` and
``a1 = a0 + 1``, and the amount of the cohort retiring in year ``t`` is::

    cohort * (F(a1) - F(a0)),   F(a) = 1 - exp(-(a / scale) ** k) for a > 0, else 0.

With ``installed_at=0`` (installed on 1 January) this is the textbook
``cohort * (F(t - v + 1) - F(t - v))``.

Check against the national series of the default case (``data/china/README.md``,
section 4: installed GWh by vintage 2015-2035, k = 3.5, mean 9 y, domestic factor and
t/MWh by vintage as in :data:`netopt.generate.DOMESTIC_FACTOR` and
:data:`netopt.generate.MASS_T_PER_MWH`): the mid-year convention reproduces that
national EOL series *to the rounding of the table*: 56.2 / 83.0 / 120.0 / 168.5 / 228.3
/ 297.3 / 371.4 / 445.1 / 512.8 / 569.7 GWh
and 461 / 656 / 913 / 1239 / 1631 / 2072 / 2538 / 2996 / 3410 / 3755 kt for 2026-2035
(the series: 56 / 83 / 120 / 168 / 228 / 297 / 371 / 445 / 513 / 570 GWh; same kt). The NCM
share of the retiring GWh, from the LFP share of installs by vintage (2015-16 vintages
take 2017's 50%, vintages after 2025 take 2025's 81.5%), comes out at 0.49 / 0.44 / 0.40 /
0.35 / 0.31 / 0.28 / 0.26 / 0.24 / 0.22 / 0.21, within 0.016 of the series' 0.47 / 0.43 /
0.39 / 0.35 / 0.32 / 0.29 / 0.26 / 0.24 / 0.23 / 0.22; by mass (older, heavier vintages
are more often NCM) it is 0.50 in 2026, within 0.03 of the series. The January-install
convention (``installed_at=0``) would give 68 GWh / 551 kt in 2026, a year ahead of the
series.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import pandas as pd

__all__ = [
    "weibull_scale",
    "weibull_cdf",
    "retirement_matrix",
    "weibull_retirements",
    "by_vintage",
    "eol_by_chemistry",
]


def weibull_scale(shape: float, mean_life: float) -> float:
    """Scale ``lambda`` of a Weibull with shape ``k`` and mean ``mean_life``.

    ``mean = lambda * Gamma(1 + 1/k)``.
    """
    if shape <= 0 or mean_life <= 0:
        raise ValueError("shape and mean_life must be positive")
    return mean_life / math.gamma(1.0 + 1.0 / shape)


def weibull_cdf(age: float, shape: float, scale: float) -> float:
    """Share of a cohort retired by age ``age``: ``1 - exp(-(age/scale)**shape)``, 0 if age <= 0."""
    if age <= 0:
        return 0.0
    return 1.0 - math.exp(-((age / scale) ** shape))


def retirement_matrix(
    cohorts: Mapping[int, float],
    years: Iterable[int],
    shape: float,
    mean_life: float,
    installed_at: float = 0.5,
) -> pd.DataFrame:
    """Amount of each cohort retiring in each year.

    Returns a frame indexed by ``year`` with one column per vintage (sorted), in the
    cohorts' unit. See the module docstring for the convention; ``installed_at`` is the
    fraction of its year at which a cohort is installed (0.5: mid-year).
    """
    if not 0.0 <= installed_at <= 1.0:
        raise ValueError("installed_at must be within [0, 1]")
    scale = weibull_scale(shape, mean_life)
    years = list(years)
    vintages = sorted(cohorts)
    data = {}
    for vintage in vintages:
        amount = float(cohorts[vintage])
        column = []
        for year in years:
            start = year - vintage - installed_at
            share = weibull_cdf(start + 1.0, shape, scale) - weibull_cdf(start, shape, scale)
            column.append(amount * share)
        data[vintage] = column
    frame = pd.DataFrame(data, index=pd.Index(years, name="year"), dtype=float)
    frame.columns.name = "vintage"
    return frame


def weibull_retirements(
    cohorts: Mapping[int, float],
    years: Iterable[int],
    shape: float,
    mean_life: float,
    installed_at: float = 0.5,
) -> pd.Series:
    """Total retirements per year from sales cohorts with a Weibull lifetime.

    ``cohorts`` maps vintage (year installed) to the amount installed; the result is a
    Series indexed by ``year`` (in the order given) in the same unit. Year ``t`` gets
    ``sum_v cohort_v * (F(t - v - installed_at + 1) - F(t - v - installed_at))``.

    >>> round(weibull_retirements({2020: 100.0}, range(2020, 2060), 3.5, 9.0).sum(), 6)
    100.0
    """
    matrix = retirement_matrix(cohorts, years, shape, mean_life, installed_at)
    series = matrix.sum(axis=1)
    series.name = "retired"
    return series


def by_vintage(schedule: Mapping[int, float], vintage: int) -> float:
    """Value of a step schedule for ``vintage``.

    ``schedule`` maps the first vintage a value applies to onto the value, e.g.
    ``{2015: 9.0, 2021: 7.5, 2024: 6.5}``. Vintages before the first key take the first
    value; after the last key, the last value. A schedule with one entry per year is
    thus extended flat both ways.
    """
    if not schedule:
        raise ValueError("empty schedule")
    keys = sorted(schedule)
    value = schedule[keys[0]]
    for key in keys:
        if vintage >= key:
            value = schedule[key]
        else:
            break
    return float(value)


def eol_by_chemistry(
    installed_gwh: Mapping[int, float],
    years: Iterable[int],
    *,
    shape: float,
    mean_life: float,
    mass_t_per_mwh: Mapping[int, float],
    domestic_factor: Mapping[int, float],
    lfp_share: Mapping[int, float],
    installed_at: float = 0.5,
) -> pd.DataFrame:
    """End-of-life energy and mass per year, split into NCM ('NMC') and LFP.

    ``installed_gwh`` is installed battery energy by vintage (GWh); the three schedules
    (see :func:`by_vintage`) give, by vintage, the pack mass intensity in t/MWh, the share
    of the vintage that stays (and so retires) in the country, and the LFP share of the
    installed GWh (the rest is counted as NCM). Returns a frame indexed by ``year`` with
    columns ``gwh``, ``tonnes``, ``tonnes_NMC``, ``tonnes_LFP``, ``gwh_NMC``, ``gwh_LFP``
    and ``ncm_share`` (of GWh).
    """
    matrix = retirement_matrix(installed_gwh, years, shape, mean_life, installed_at)
    vintages = list(matrix.columns)
    domestic = pd.Series({v: by_vintage(domestic_factor, v) for v in vintages})
    mass = pd.Series({v: by_vintage(mass_t_per_mwh, v) for v in vintages})
    lfp = pd.Series({v: by_vintage(lfp_share, v) for v in vintages})
    gwh = matrix * domestic  # domestic GWh retiring, by year x vintage
    tonnes = gwh * mass * 1000.0  # GWh * t/MWh * 1000 MWh/GWh
    out = pd.DataFrame(
        {
            "gwh": gwh.sum(axis=1),
            "tonnes": tonnes.sum(axis=1),
            "gwh_NMC": (gwh * (1.0 - lfp)).sum(axis=1),
            "gwh_LFP": (gwh * lfp).sum(axis=1),
            "tonnes_NMC": (tonnes * (1.0 - lfp)).sum(axis=1),
            "tonnes_LFP": (tonnes * lfp).sum(axis=1),
        }
    )
    out["ncm_share"] = out["gwh_NMC"] / out["gwh"].where(out["gwh"] > 0)
    return out
