#!/usr/bin/env python3
"""Build the bundled example workbook ``inputs/central_asia_refining.xlsx``.

    python scripts/build_example.py [--out PATH]

The decision: which refining plants and offtake agreements in Central Asia, the South Caucasus and
Ukraine a US-backed fund should finance, and when, to cut US reliance on China for seven minerals.

What is real and what is assumed (every figure is listed on the workbook's Sources sheet):

* Real (parsed here from the USGS Mineral Commodity Summaries 2025 files copied under
  ``data/usgs_mcs2025/``; no real number is typed into this script): 2024 US apparent consumption,
  net import reliance (NIR), the ordered US import sources, world and country production, 2024
  prices, and the rare-earth import share from China published in the MCS2025 chapter text.
* Derived by a stated method and labelled an assumption: ``us_demand_t`` where USGS withholds
  consumption (barite, tungsten), every ``china_share``, and the security premiums (a stated
  fraction of the USGS 2024 price).
* Assumed: every project figure (capex, build time, capacity, NPV, risk, windows), budgets, demand
  growth, targets and weights. They are illustrative figures for a candidate list, not company data.

The script is deterministic: the same inputs give the same workbook content.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from optimizer.instance import (Country, Instance, Mineral, Project, Scenario, Settings,  # noqa: E402
                                SourceRow)

DATA = ROOT / "data" / "usgs_mcs2025"
RAW = DATA / "raw_mcs2025"
DEFAULT_OUT = ROOT / "inputs" / "central_asia_refining.xlsx"

WORLD_FILE = "MCS2025_World_Data.csv"
FIG2_FILE = "MCS2025_Fig2_Net_Import_Reliance.csv"
T5_FILE = "MCS2025_T5_Critical_Minerals_Salient.csv"
# Derived table; read only for China's share of US rare-earth imports (MCS2025 chapter text).
DERIVED_SALIENT_FILE = "us_salient_2024.csv"
DATA_YEAR = "2024"

REAL = "real: USGS MCS2025"
REAL_CONVERTED = "real: USGS MCS2025 (unit converted)"
DERIVED = "assumption: derived from USGS MCS2025"
ASSUMPTION = "assumption"
SOURCES_HEADER = ("item", "value", "unit", "status", "source", "note")

# Physical constants (not data): unit conversions.
KG_PER_LB = 0.45359237
# A metric ton unit (10 kg) of WO3 holds 10 x W / WO3 kg of tungsten (7.93 kg, as the USGS
# tungsten metadata states for Price_WO3_dt).
ATOMIC_W, ATOMIC_O = 183.84, 15.999
KG_W_PER_MTU_WO3 = 10.0 * ATOMIC_W / (ATOMIC_W + 3 * ATOMIC_O)

# Assumption: where China is not among the listed US import sources (Fig. 2), its influence is
# indirect only (price setting, feedstock, Chinese metal inside imported semi-finished goods); we
# count a quarter of the exposure the world-production method would give.
INDIRECT_FACTOR = 0.25


# --------------------------------------------------------------------------------------------
# Reading the USGS files
# --------------------------------------------------------------------------------------------

def _key(text: str) -> str:
    return "".join(str(text).split())


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a USGS CSV (UTF-8 with BOM); header and cell whitespace stripped, inner header
    spaces removed (World Data writes ``PROD_EST_ 2024``)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [_key(h) for h in next(reader)]
        return [
            {h: (cell or "").strip() for h, cell in zip(header, row)}
            for row in reader if any(c.strip() for c in row)
        ]


def number(text: str, what: str) -> float:
    t = text.replace(",", "").strip()
    try:
        return float(t)
    except ValueError:
        raise ValueError(f"{what}: expected a number, found {text!r}") from None


def share_from_pct(text: str, what: str) -> tuple[float, bool]:
    """A published percentage (``85``, ``>95``) as a fraction; True when it is a lower bound."""
    t = text.strip()
    if t.startswith(">"):
        return number(t[1:], what) / 100.0, True
    return number(t, what) / 100.0, False


def tonnes_per_unit(column: str) -> tuple[float, str]:
    """Factor to metric tons and the unit name, read from a USGS column-name suffix."""
    if column.endswith("_kt"):
        return 1000.0, "thousand metric tons"
    if column.endswith("_kg"):
        return 0.001, "kilograms"
    if column.endswith("_t"):
        return 1.0, "metric tons"
    raise ValueError(f"no unit suffix in column {column!r}")


def fmt(x: float, digits: int = 4) -> str:
    """Deterministic text of a number for the Sources sheet."""
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.{digits}f}".rstrip("0").rstrip(".")


@dataclass
class Usgs:
    salient: dict[str, dict[str, str]]  # salient file -> the DATA_YEAR row
    world: list[dict[str, str]]
    fig2: list[dict[str, str]]
    t5: list[dict[str, str]]
    derived: list[dict[str, str]]

    @classmethod
    def load(cls, files: tuple[str, ...]) -> "Usgs":
        salient = {}
        for f in files:
            rows = [r for r in read_csv(RAW / f) if r["Year"] == DATA_YEAR]
            if len(rows) != 1:
                raise ValueError(f"{f}: expected one {DATA_YEAR} row, found {len(rows)}")
            salient[f] = rows[0]
        return cls(salient, read_csv(RAW / WORLD_FILE), read_csv(RAW / FIG2_FILE),
                   read_csv(RAW / T5_FILE), read_csv(DATA / DERIVED_SALIENT_FILE))

    def world_row(self, commodity: str, country: str, type_prefix: str) -> dict[str, str] | None:
        hits = [r for r in self.world
                if r["COMMODITY"] == commodity and r["COUNTRY"].startswith(country)
                and r["TYPE"].startswith(type_prefix)]
        if len(hits) > 1:
            raise ValueError(f"World Data: {len(hits)} rows for "
                             f"{commodity}/{country}/{type_prefix}")
        return hits[0] if hits else None

    def fig2_row(self, prefix: str) -> dict[str, str]:
        hits = [r for r in self.fig2 if r["Commodity"].upper().startswith(prefix)]
        if len(hits) != 1:
            raise ValueError(f"Fig2: {len(hits)} rows for {prefix!r}")
        return hits[0]

    def t5_row(self, prefix: str) -> dict[str, str]:
        hits = [r for r in self.t5 if r["Critical_mineral"].strip().startswith(prefix)]
        if len(hits) != 1:
            raise ValueError(f"T5: {len(hits)} rows for {prefix!r}")
        return hits[0]

    def derived_row(self, commodity: str) -> dict[str, str]:
        hits = [r for r in self.derived if r["commodity"] == commodity]
        if len(hits) != 1:
            raise ValueError(f"{DERIVED_SALIENT_FILE}: {len(hits)} rows for {commodity!r}")
        return hits[0]


# --------------------------------------------------------------------------------------------
# The minerals: where each figure is in the USGS files, and the assumptions that go with it
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MineralSpec:
    name: str  # Minerals sheet name (used by Projects)
    salient: str  # raw salient file
    consumption: str  # apparent consumption column (unit from its suffix)
    nir: str  # NIR column
    world_commodity: str  # World Data COMMODITY
    world_type: str  # World Data TYPE (prefix)
    fig2: str  # Fig2 Commodity (prefix, upper case)
    t5: str  # T5 Critical_mineral (prefix)
    price: str  # price column of the salient file
    price_unit: str  # lb, kg, t, mtu_wo3: what one unit of price buys
    why: str  # why the mineral is in the example
    # Where consumption is W/NA: consumption = (imports - exports) / NIR.
    imports: tuple[str, ...] = ()
    exports: tuple[str, ...] = ()
    china_import_share_from: str = ""  # us_salient_2024 commodity giving China % of US imports
    # Assumptions.
    demand_growth: float = 0.0
    growth_why: str = ""
    premium_fraction: float = 0.0  # security premium = this x 2024 price per tonne
    premium_why: str = ""
    target: float | None = None
    target_why: str = ""
    weight: float = 1.0


MINERALS = (
    MineralSpec(
        "antimony", "mcs2025-antim_salient.csv", "Consump_t", "NIR_pct", "Antimony",
        "Mine production", "ANTIMONY", "Antimony", "Price_Metal_dlb", "lb",
        why="China is the first US import source and Tajikistan a leading miner (see the "
            "context rows); China restricted antimony exports in 2024. No target: the premium "
            "alone makes the regional refinery and offtakes worth funding.",
        demand_growth=0.01, growth_why="flame retardants and ammunition: slow growth",
        premium_fraction=0.40, premium_why="the cost of a supply cut: prices rose several-fold "
        "after China's 2024 export controls",
    ),
    MineralSpec(
        "rare earths", "mcs2025-rareee_salient.csv", "Consump_Compounds-Metals_t",
        "NIR_Compounds-Metals_t", "Rare earths", "Mine production", "RARE EARTHS", "Rare earths",
        "Price_Nd2O3_dkg", "kg",
        china_import_share_from="Rare earths",
        why="China is the first US import source of compounds and metals; Kazakhstan and "
            "Kyrgyzstan hold deposits and a separation heritage (Ulba).",
        demand_growth=0.03, growth_why="permanent magnets for EVs, wind and defence",
        premium_fraction=0.50, premium_why="priced on Nd oxide: magnet rare earths are the most "
        "exposed to a Chinese cut-off",
        target=0.30, target_why="roughly halve China dependence by 2035 and hold it while demand "
        "grows; needs a separation plant plus a second source by the 2040s",
    ),
    MineralSpec(
        "graphite", "mcs2025-graph_salient.csv", "Consump_t", "NIR_pct", "Graphite",
        "Mine production", "GRAPHITE (NATURAL)", "Graphite (natural)", "Price_Flake_dt", "t",
        why="wholly import reliant with China the first source; Ukraine mines flake graphite and "
            "Uzbekistan has deposits.",
        demand_growth=0.04, growth_why="battery anodes",
        premium_fraction=1.50, premium_why="above the flake import value because battery-grade "
        "anode material sells at several times flake value",
        target=0.40, target_why="halve China dependence by 2035 against fast demand growth; "
        "needs a mine with purification plant and a second plant later",
    ),
    MineralSpec(
        "tungsten", "mcs2025-tungs_salient.csv", "Consump_Apparent_t", "NIR_ct", "Tungsten",
        "Mine production", "TUNGSTEN", "Tungsten", "Price_WO3_dt", "mtu_wo3",
        imports=("Imports_Concentrate_t", "Imports_Other_t"),
        exports=("Exports_Concentrate_t", "Exports_Other_t"),
        why="China is the first US import source and the dominant miner; Kazakhstan, Uzbekistan, "
            "Kyrgyzstan and Tajikistan hold deposits.",
        demand_growth=0.01, growth_why="carbides and defence: slow growth",
        premium_fraction=0.40, premium_why="concentrate price per tonne of contained tungsten",
        target=0.25, target_why="cut China dependence by 40% by 2035: only a mine started at "
        "once, or a smaller mine bridged by offtakes, gets there in time",
    ),
    MineralSpec(
        "titanium sponge", "mcs2025-titan_salient.csv", "Consump_Sponge_Apparent_t",
        "NIR_Sponge_pct", "Titanium & titanium dioxide", "Sponge Metal Production",
        "TITANIUM, SPONGE", "Titanium (metal)", "Price_Sponge_dkg", "kg",
        why="almost wholly import reliant; Kazakhstan (UKTMP) is already the No. 2 US source and "
            "Ukraine has an idle sponge plant.",
        demand_growth=0.02, growth_why="aerospace",
        premium_fraction=0.30, premium_why="landed sponge price; aerospace-grade supply is scarce",
    ),
    MineralSpec(
        "chromium", "mcs2025-chrom_salient.csv", "Consump_Apparent_kt", "NIR_pct", "Chromium",
        "Mine production", "CHROMIUM", "Chromium", "Price_Ferrochromium_dlb", "lb",
        why="Kazakhstan is the No. 2 US import source; China's role is small, so projects here "
            "compete on NPV, not security.",
        demand_growth=0.005, growth_why="stainless steel: nearly flat",
        premium_fraction=0.20, premium_why="ferrochromium price per tonne of chromium; low China "
        "exposure",
    ),
    MineralSpec(
        "barite", "mcs2025-barit_salient.csv", "Consump_kt", "NIR_pct", "Barite",
        "Mine production", "BARITE", "Barite", "Price_dt", "t",
        imports=("Imports_consumption_kt",), exports=("Exports_kt",),
        why="China is the No. 2 US import source; Kazakhstan is a large miner (see the context "
            "rows).",
        demand_growth=0.0, growth_why="oil and gas drilling: flat",
        premium_fraction=0.20, premium_why="ground barite price; low-value bulk mineral",
    ),
)


@dataclass
class Derived:
    mineral: Mineral
    rows: list[SourceRow]


def _row(*cells: str) -> SourceRow:
    assert len(cells) == len(SOURCES_HEADER), cells
    return SourceRow(tuple(str(c) for c in cells))


def price_per_tonne(value: float, unit: str) -> float:
    if unit == "lb":
        return value / KG_PER_LB * 1000.0
    if unit == "kg":
        return value * 1000.0
    if unit == "t":
        return value
    if unit == "mtu_wo3":
        return value / KG_W_PER_MTU_WO3 * 1000.0
    raise ValueError(unit)


def derive_mineral(spec: MineralSpec, usgs: Usgs) -> Derived:
    """One Minerals row from the USGS files, with a Sources row for every figure it uses."""
    n = spec.name
    rows: list[SourceRow] = []
    sal = usgs.salient[spec.salient]
    src_sal = f"data/usgs_mcs2025/raw_mcs2025/{spec.salient}, Year {DATA_YEAR}"

    # Net import reliance.
    nir, nir_bound = share_from_pct(sal[spec.nir], f"{spec.salient} {spec.nir}")
    rows.append(_row(f"{n}: US net import reliance {DATA_YEAR}", sal[spec.nir], "% of apparent "
                     "consumption", REAL, f"{src_sal}, {spec.nir}",
                     "published as a lower bound; the bound is used" if nir_bound else ""))

    # US demand: apparent consumption in metric tons, or derived where withheld.
    factor, unit = tonnes_per_unit(spec.consumption)
    raw = sal[spec.consumption]
    if raw not in ("W", "NA", ""):
        consumption = number(raw, f"{spec.salient} {spec.consumption}")
        demand = consumption * factor
        rows.append(_row(f"{n}: US apparent consumption {DATA_YEAR}", raw, unit, REAL,
                         f"{src_sal}, {spec.consumption}", ""))
        rows.append(_row(f"{n}: us_demand_t", fmt(demand), "t/yr",
                         REAL if factor == 1.0 else REAL_CONVERTED,
                         f"{src_sal}, {spec.consumption}",
                         "2024 estimate used for first_year 2026" +
                         ("" if factor == 1.0 else f"; {raw} {unit} x {fmt(factor)}")))
    else:
        imp = sum(number(sal[c], f"{spec.salient} {c}") for c in spec.imports)
        exp = sum(number(sal[c], f"{spec.salient} {c}") for c in spec.exports)
        f_imp, _ = tonnes_per_unit(spec.imports[0])
        demand = (imp - exp) * f_imp / nir
        rows.append(_row(f"{n}: US apparent consumption {DATA_YEAR}", raw, unit, REAL,
                         f"{src_sal}, {spec.consumption}", "withheld (W) or not available (NA)"))
        for c in spec.imports + spec.exports:
            rows.append(_row(f"{n}: {c} {DATA_YEAR}", sal[c], tonnes_per_unit(c)[1], REAL,
                             f"{src_sal}, {c}", ""))
        rows.append(_row(
            f"{n}: us_demand_t", fmt(round(demand)), "t/yr", DERIVED, f"{src_sal}",
            f"consumption withheld; derived as net imports / NIR = ({fmt(imp)} - {fmt(exp)}) x "
            f"{fmt(f_imp)} / {fmt(nir)}. NIR is a lower bound, so this is an upper estimate of "
            "apparent consumption (domestic production is withheld)"))
        demand = round(demand)

    # Import sources and China's rank.
    f2 = usgs.fig2_row(spec.fig2)
    listed = f2["Major_Import_Sources_2020_2023"].split(",")
    sources = [s.strip().rstrip("0123456789") for s in listed if s.strip()]  # "China3": footnote
    china_rank = sources.index("China") + 1 if "China" in sources else None
    rows.append(_row(f"{n}: major US import sources 2020-23", "; ".join(sources),
                     "descending import share", REAL,
                     f"data/usgs_mcs2025/raw_mcs2025/{FIG2_FILE}, {f2['Commodity']}",
                     f"China rank: {china_rank}" if china_rank else "China not listed"))

    # China's share of world production (World Data), cross-checked against T5.
    src_world = f"data/usgs_mcs2025/raw_mcs2025/{WORLD_FILE}, COMMODITY {spec.world_commodity}"
    world = usgs.world_row(spec.world_commodity, "World total", spec.world_type)
    world_prod = number(world["PROD_EST_2024"], "World total")
    china = usgs.world_row(spec.world_commodity, "China", spec.world_type)
    if china is not None and china["PROD_EST_2024"]:
        china_prod = number(china["PROD_EST_2024"], "China")
        china_label = "China"
    else:
        other = usgs.world_row(spec.world_commodity, "Other Countries", spec.world_type)
        china_prod = number(other["PROD_EST_2024"], "Other Countries")
        china_label = "Other Countries (China not listed; upper bound)"
    world_share = china_prod / world_prod
    rows.append(_row(f"{n}: {china_label} production 2024e", fmt(china_prod), world["UNIT_MEAS"],
                     REAL, f"{src_world}, COUNTRY {china_label.split(' (')[0]}, PROD_EST_ 2024",
                     world["TYPE"]))
    rows.append(_row(f"{n}: world production 2024e", fmt(world_prod), world["UNIT_MEAS"], REAL,
                     f"{src_world}, COUNTRY {world['COUNTRY']}, PROD_EST_ 2024",
                     world["PROD_NOTES"]))
    t5 = usgs.t5_row(spec.t5)
    rows.append(_row(f"{n}: leading world producer (T5)",
                     f"{t5['Leading_source_country']} {t5['Leading_source_precent_world']}%",
                     "% of world output", REAL,
                     f"data/usgs_mcs2025/raw_mcs2025/{T5_FILE}, {t5['Critical_mineral'].strip()}",
                     "cross-check of the World Data share"))

    # China share of US demand.
    if spec.china_import_share_from:
        d = usgs.derived_row(spec.china_import_share_from)
        imp_share = number(d["china_share_of_us_imports_pct_2020_23"], "China import share") / 100
        china_share = nir * imp_share
        rows.append(_row(f"{n}: China share of US imports 2020-23", fmt(imp_share * 100), "%",
                         REAL, f"data/usgs_mcs2025/{DERIVED_SALIENT_FILE}, "
                         "china_share_of_us_imports_pct_2020_23", d["china_share_source"]))
        method = (f"NIR x China share of US imports = {fmt(nir)} x {fmt(imp_share)} "
                  "(published import share)")
    elif china_rank is not None:
        china_share = nir * world_share
        method = (f"NIR x China share of world production (China is No. {china_rank} US import "
                  f"source) = {fmt(nir)} x {fmt(china_prod)}/{fmt(world_prod)}")
    else:
        china_share = nir * world_share * INDIRECT_FACTOR
        method = (f"China is not among the listed US import sources: NIR x China share of world "
                  f"production x indirect-exposure factor {fmt(INDIRECT_FACTOR)} (assumption) = "
                  f"{fmt(nir)} x {fmt(china_prod)}/{fmt(world_prod)} x {fmt(INDIRECT_FACTOR)}")
    china_share = round(china_share, 4)
    rows.append(_row(f"{n}: china_share", fmt(china_share), "fraction of US demand", DERIVED,
                     "derived from the rows above", method))

    # Security premium from the 2024 price.
    price = number(sal[spec.price], f"{spec.salient} {spec.price}")
    per_t = price_per_tonne(price, spec.price_unit)
    premium = float(round(per_t * spec.premium_fraction, -1))
    unit_text = {"lb": "$/lb", "kg": "$/kg", "t": "$/t", "mtu_wo3": "$/mtu WO3"}[spec.price_unit]
    rows.append(_row(f"{n}: price {DATA_YEAR} ({spec.price})", fmt(price), unit_text, REAL,
                     f"{src_sal}, {spec.price}", f"= {fmt(round(per_t))} $/t"))
    rows.append(_row(f"{n}: security_premium_usd_per_t", fmt(premium), "$/t", ASSUMPTION,
                     "price row above", f"{fmt(round(spec.premium_fraction * 100))}% of the "
                     f"{DATA_YEAR} price per tonne; {spec.premium_why}"))

    rows.append(_row(f"{n}: demand_growth", fmt(spec.demand_growth), "fraction per year",
                     ASSUMPTION, "", spec.growth_why))
    if spec.target is not None:
        rows.append(_row(f"{n}: target_china_share", fmt(spec.target), "fraction", ASSUMPTION, "",
                         spec.target_why))
    rows.append(_row(f"{n}: weight", fmt(spec.weight), "", ASSUMPTION, "",
                     "all minerals weighted alike; priorities enter through the premiums"))
    rows.append(_row(f"{n}: why in the example", "", "", "", "", spec.why))

    mineral = Mineral(
        mineral=n, us_demand_t=float(demand), china_share=china_share,
        demand_growth=spec.demand_growth, target_china_share=spec.target, weight=spec.weight,
        security_premium_usd_per_t=premium,
    )
    return Derived(mineral, rows)


def context_rows(usgs: Usgs) -> list[SourceRow]:
    """Regional production figures that put the offtake capacities in context."""
    out = []
    world_src = f"data/usgs_mcs2025/raw_mcs2025/{WORLD_FILE}"
    for label, commodity, country, type_prefix, note in (
        ("Tajikistan antimony", "Antimony", "Tajikistan", "Mine production",
         "context for the Anzob offtakes and the Konchoch mine"),
        ("Kyrgyzstan antimony", "Antimony", "Kyrgyzstan", "Mine production",
         "Kadamjay smelts mostly bought-in concentrate; reserves are large"),
        ("Kazakhstan chromite", "Chromium", "Kazakhstan", "Mine production",
         "context for the Kazchrome offtake (gross weight of chromite ore, not chromium content)"),
        ("Kazakhstan barite", "Barite", "Kazakhstan", "Mine production",
         "context for the Karaoba and Chiganak offtake"),
        ("Kazakhstan titanium sponge", "Titanium & titanium dioxide", "Kazakhstan",
         "Sponge Metal Production", "context for the UKTMP offtake and expansion"),
        ("Ukraine graphite", "Graphite", "Ukraine", "Mine production",
         "context for the Zavallia offtake"),
        ("Ukraine ilmenite", "Titanium Mineral Concentrates", "Ukraine",
         "Mine production, ilmentite", "feed for a Zaporizhzhia sponge restart (unit as "
         "published; the values look like thousand tons of TiO2)"),
    ):
        r = usgs.world_row(commodity, country, type_prefix)
        if r is None:
            raise ValueError(f"World Data has no row {commodity}/{country}/{type_prefix}")
        src = f"{world_src}, COMMODITY {commodity}, COUNTRY {country}"
        out.append(_row(f"{label}: production 2024e", r["PROD_EST_2024"], r["UNIT_MEAS"], REAL,
                        f"{src}, PROD_EST_ 2024", f"{r['TYPE']}; {note}"))
        if r["RESERVES_2024"]:
            out.append(_row(f"{label}: reserves 2024", r["RESERVES_2024"], r["UNIT_MEAS"], REAL,
                            f"{src}, RESERVES_2024", ""))
        if r["CAP_EST_2024"]:
            out.append(_row(f"{label}: capacity 2024e", r["CAP_EST_2024"], r["UNIT_MEAS"], REAL,
                            f"{src}, CAP_EST_ 2024", ""))
    return out


# --------------------------------------------------------------------------------------------
# Projects: every figure an assumption (illustrative candidate list, not company data)
# --------------------------------------------------------------------------------------------
# Columns: id, name, kind, mineral, country, capex low, capex high, build years, earliest start,
# latest start, capacity t/yr, operating years (None = to the horizon end), NPV $M, requires,
# exclusive group, risk, must fund.
# Capacities are tonnes a year delivered to US supply (contained metal / REO where relevant);
# a downstream plant's capacity is the tonnes it adds on top of its upstream plant.

P = Project


def _projects() -> list[Project]:
    # Profiles are resolved as the reader resolves them: even over the build years when not given.
    def even(build):
        n = max(build, 1)
        return tuple([1.0 / n] * n)

    def plant(pid, name, mineral, country, lo, hi, build, es, ls, cap, npv, risk, *,
              requires=(), group=None, profile=()):
        return P(pid, name, "plant", mineral, country, float(lo), float(hi), build, es, ls,
                 float(cap), float(npv), None, tuple(requires), group, risk, False,
                 tuple(profile) or even(build))

    def offtake(pid, name, mineral, country, prepay, build, es, ls, cap, term, npv, risk, *,
                requires=(), group=None, must=False):
        return P(pid, name, "offtake", mineral, country, float(prepay), float(prepay), build, es,
                 ls, float(cap), float(npv), term, tuple(requires), group, risk, must,
                 even(build))

    return [
        # ---------------------------------------------------------------- antimony
        offtake("SB-TJ-ANZ5", "Anzob antimony offtake, 5-year term (Tajikistan)", "antimony",
                "Tajikistan", 0, 1, 2026, 2034, 3000, 5, -25, 0.40, group="SB-ANZOB-TERM"),
        offtake("SB-TJ-ANZ10", "Anzob antimony offtake, 10-year term with prepayment "
                "(Tajikistan)", "antimony", "Tajikistan", 40, 1, 2026, 2034, 3000, 10, -45, 0.40,
                group="SB-ANZOB-TERM"),
        offtake("SB-KG-KAD", "Kadamjay antimony metal offtake, 7-year term (Kyrgyzstan)",
                "antimony", "Kyrgyzstan", 0, 1, 2026, 2038, 1500, 7, -25, 0.45),
        plant("SB-KG-REF", "Kadamjay antimony smelter rebuild and trioxide refinery "
              "(Kyrgyzstan)", "antimony", "Kyrgyzstan", 500, 650, 4, 2026, 2033, 6000, 25, 0.45,
              group="SB-REFINERY", profile=(0.4, 0.3, 0.2, 0.1)),
        plant("SB-UZ-REF", "Angren antimony refinery for Tajik and Kyrgyz concentrate "
              "(Uzbekistan; alternative site)", "antimony", "Uzbekistan", 560, 720, 5, 2026, 2033,
              7000, 10, 0.30, group="SB-REFINERY"),
        plant("SB-TJ-MINE", "Konchoch antimony-gold mine with concentrator and smelter "
              "(Tajikistan)", "antimony", "Tajikistan", 620, 850, 7, 2027, 2035, 4500, 35, 0.50),
        plant("SB-AM-FR", "Ararat antimony trioxide and flame-retardant plant fed by the Konchoch "
              "smelter (Armenia)", "antimony", "Armenia", 500, 600, 3, 2030, 2040, 2500, -15, 0.30,
              requires=("SB-TJ-MINE",)),
        # ---------------------------------------------------------------- rare earths
        plant("RE-KZ-SEP", "Ust-Kamenogorsk rare-earth separation facility (Kazakhstan)",
              "rare earths", "Kazakhstan", 750, 950, 6, 2026, 2034, 2000, -90, 0.30,
              group="RE-SEPARATION", profile=(0.05, 0.10, 0.15, 0.25, 0.25, 0.20)),
        plant("RE-KZ-STP", "Stepnogorsk rare-earth separation facility (Kazakhstan; alternative "
              "site)", "rare earths", "Kazakhstan", 680, 900, 7, 2027, 2035, 2000, -110, 0.30,
              group="RE-SEPARATION"),
        plant("RE-KZ-METAL", "Ust-Kamenogorsk rare-earth metal and NdFeB alloy plant, downstream "
              "of the separation facility (Kazakhstan)", "rare earths", "Kazakhstan", 500, 650, 4,
              2028, 2040, 800, -20, 0.30, requires=("RE-KZ-SEP",)),
        plant("RE-KG-KUT", "Kutessay II heavy rare-earth mine with separation facility "
              "(Kyrgyzstan)", "rare earths", "Kyrgyzstan", 850, 1000, 12, 2026, 2032, 1200, -60,
              0.55, profile=(0.025,) * 4 + (0.1125,) * 8),
        offtake("RE-KG-TOLL", "Separated NdPr oxide from Kyrgyz concentrate tolled at "
                "Ust-Kamenogorsk, 8-year offtake (Kyrgyzstan)", "rare earths", "Kyrgyzstan", 15, 1,
                2030, 2042, 600, 8, -40, 0.45, requires=("RE-KZ-SEP",)),
        offtake("RE-UZ-ALM", "Almalyk MMC mixed rare-earth oxide offtake from copper tailings, "
                "6-year term (Uzbekistan)", "rare earths", "Uzbekistan", 0, 2, 2026, 2036, 400, 6,
                -9, 0.35),
        offtake("RE-KZ-ULBA", "Ulba Metallurgical Plant rare-earth oxide offtake, 5-year term "
                "(Kazakhstan)", "rare earths", "Kazakhstan", 0, 1, 2026, 2030, 300, 5, -10, 0.30),
        plant("RE-UA-NOV", "Novopoltavske rare-earth phosphate mine with separation facility, "
              "Zaporizhzhia oblast - near the front line (Ukraine)", "rare earths", "Ukraine", 800,
              1000, 10, 2028, 2036, 1500, -50, 0.80),
        plant("RE-UA-AZOV", "Azovske rare-earth and zirconium mine with separation facility, "
              "Donetsk oblast - behind the front line, occupied territory (Ukraine)",
              "rare earths", "Ukraine", 850, 1000, 18, 2027, 2031, 2000, -80, 0.90,
              profile=(0.01,) * 10 + (0.1125,) * 8),
        # ---------------------------------------------------------------- graphite
        offtake("GR-UA-ZAV", "Zavallia flake graphite offtake, 7-year term, Kirovohrad oblast "
                "(Ukraine)", "graphite", "Ukraine", 10, 1, 2026, 2036, 8000, 7, -11, 0.60),
        plant("GR-UA-BAL", "Balakhivka graphite mine with purification and spheronising plant, "
              "Kirovohrad oblast (Ukraine)", "graphite", "Ukraine", 600, 800, 7, 2027, 2035, 20000,
              -40, 0.70),
        plant("GR-UZ-TAS", "Taskazgan graphite mine with purification plant (Uzbekistan)",
              "graphite", "Uzbekistan", 550, 750, 6, 2026, 2034, 25000, -30, 0.40),
        plant("GR-AZ-ANODE", "Sumgait coated spherical graphite anode plant fed from Taskazgan "
              "(Azerbaijan)", "graphite", "Azerbaijan", 500, 700, 4, 2028, 2040, 15000, -20, 0.35,
              requires=("GR-UZ-TAS",), group="GR-ANODE-SITE"),
        plant("GR-GE-ANODE", "Poti free-industrial-zone graphite anode plant fed from Taskazgan "
              "(Georgia; alternative site)", "graphite", "Georgia", 550, 750, 4, 2028, 2040, 15000,
              -5, 0.30, requires=("GR-UZ-TAS",), group="GR-ANODE-SITE"),
        offtake("GR-KZ-OFF", "East Kazakhstan flake graphite offtake from a junior producer, "
                "6-year term (Kazakhstan)", "graphite", "Kazakhstan", 0, 2, 2026, 2036, 5000, 6,
                -6, 0.40),
        # ---------------------------------------------------------------- tungsten
        plant("W-KZ-UKA", "Upper Kairakty tungsten mine with APT plant (Kazakhstan)", "tungsten",
              "Kazakhstan", 850, 1000, 9, 2026, 2034, 3000, 30, 0.35,
              profile=(0.2, 0.2, 0.15, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05)),
        plant("W-KZ-POWDER", "Ust-Kamenogorsk tungsten powder and carbide plant, downstream of "
              "the Upper Kairakty APT plant (Kazakhstan)", "tungsten", "Kazakhstan", 500, 600, 3,
              2030, 2042, 1000, 10, 0.30, requires=("W-KZ-UKA",)),
        offtake("W-UZ-CHI", "Chirchiq refractory-metals combine APT offtake, 6-year term "
                "(Uzbekistan)", "tungsten", "Uzbekistan", 0, 1, 2026, 2036, 700, 6, -10, 0.35),
        plant("W-UZ-ING", "Ingichka tungsten mine expansion with APT line at Chirchiq "
              "(Uzbekistan)", "tungsten", "Uzbekistan", 500, 700, 5, 2026, 2034, 1500, -15, 0.35),
        offtake("W-KG-KUR", "Kuru-Tegerek tungsten concentrate tolled at the Upper Kairakty APT "
                "plant, 8-year offtake (Kyrgyzstan)", "tungsten", "Kyrgyzstan", 10, 2, 2030, 2042,
                500, 8, -18, 0.50, requires=("W-KZ-UKA",)),
        plant("W-TJ-MAY", "Maykhura tungsten-tin mine with concentrator and APT plant "
              "(Tajikistan)", "tungsten", "Tajikistan", 650, 900, 15, 2026, 2032, 2000, -40, 0.55,
              profile=(0.02,) * 10 + (0.16,) * 5),
        # ---------------------------------------------------------------- titanium sponge
        offtake("TI-KZ-UKT", "UKTMP titanium sponge offtake, 10-year term (Kazakhstan; "
                "committed under a government framework agreement)", "titanium sponge",
                "Kazakhstan", 0, 0, 2026, 2030, 3000, 10, -13, 0.25, must=True),
        plant("TI-KZ-EXP", "UKTMP titanium sponge capacity expansion, Ust-Kamenogorsk "
              "(Kazakhstan)", "titanium sponge", "Kazakhstan", 550, 750, 5, 2026, 2036, 6000, 20,
              0.25),
        plant("TI-UA-ZTMK", "Zaporizhzhia Titanium-Magnesium Combine sponge line restart - near "
              "the front line (Ukraine)", "titanium sponge", "Ukraine", 500, 700, 4, 2027, 2040,
              5000, -30, 0.85),
        # ---------------------------------------------------------------- chromium
        offtake("CR-KZ-FECR", "Kazchrome (Aksu) high-carbon ferrochrome offtake, 5-year term, "
                "chromium content (Kazakhstan)", "chromium", "Kazakhstan", 0, 0, 2026, 2040,
                20000, 5, 3, 0.20),
        plant("CR-KZ-LCFC", "Aktobe low-carbon ferrochrome and chromium metal plant "
              "(Kazakhstan)", "chromium", "Kazakhstan", 550, 750, 4, 2026, 2036, 25000, 60, 0.25),
        # ---------------------------------------------------------------- barite
        offtake("BA-KZ-OFF", "Karaoba and Chiganak drilling-grade barite offtake, 8-year term "
                "(Kazakhstan)", "barite", "Kazakhstan", 5, 1, 2026, 2040, 250000, 8, -32, 0.25),
        offtake("BA-GE-OFF", "Georgian barite offtake shipped through Poti, 6-year term "
                "(Georgia)", "barite", "Georgia", 8, 2, 2026, 2040, 80000, 6, -12, 0.35),
    ]


# --------------------------------------------------------------------------------------------
# Country and project risk (assumptions, by a rule fixed before any plan was looked at)
# --------------------------------------------------------------------------------------------
# Rule: each country's OECD country risk category (0-7, the export-credit classification; an
# approximate reading of the list current in 2025, to be checked against the published list)
# gives the yearly probability of a country-wide loss event q = 0.25% x 2^(category - 4), the
# probability that a project there comes online late, and the largest delay. Within Ukraine a
# project's own yearly loss probability (a strike, capture, a court case) is set by its site:
# elsewhere in the country 2% (the country rate again), near the front line 5 times that, and
# behind the front line, in occupied territory, 12.5 times that.

OECD_CATEGORY = {"Kazakhstan": 5, "Uzbekistan": 5, "Azerbaijan": 5, "Georgia": 6, "Armenia": 6,
                 "Kyrgyzstan": 7, "Tajikistan": 7, "Ukraine": 7}
DELAY_BY_CATEGORY = {5: (0.25, 3), 6: (0.30, 3), 7: (0.40, 4)}  # (probability, max years)
UKRAINE_SITE_LOSS = {"elsewhere": 0.02, "near the front line": 0.10,
                     "behind the front line": 0.25}
UKRAINE_SITES = {"RE-UA-NOV": "near the front line", "TI-UA-ZTMK": "near the front line",
                 "RE-UA-AZOV": "behind the front line", "GR-UA-ZAV": "elsewhere",
                 "GR-UA-BAL": "elsewhere"}


def country_loss(category: int) -> float:
    return 0.0025 * 2 ** (category - 4)


def build_countries(projects: list[Project]) -> dict[str, Country]:
    used = {p.country for p in projects}
    missing = used - set(OECD_CATEGORY)
    if missing:
        raise ValueError(f"no risk category for {sorted(missing)}")
    out = {}
    for country in sorted(used):
        category = OECD_CATEGORY[country]
        delay_p, max_delay = DELAY_BY_CATEGORY[category]
        out[country] = Country(country, loss_probability=country_loss(category),
                               delay_probability=delay_p, max_delay_years=max_delay,
                               source=f"assumption: OECD country risk category {category} "
                                      "(approximate), rule in the Sources sheet")
    return out


def with_site_risk(projects: list[Project]) -> list[Project]:
    """Ukrainian projects get their own loss probability by site."""
    from dataclasses import replace

    ukrainian = {p.project_id for p in projects if p.country == "Ukraine"}
    if ukrainian != set(UKRAINE_SITES):
        raise ValueError(f"Ukrainian projects without a site class: {ukrainian ^ set(UKRAINE_SITES)}")
    return [replace(p, loss_probability=UKRAINE_SITE_LOSS[UKRAINE_SITES[p.project_id]])
            if p.project_id in UKRAINE_SITES else p for p in projects]


def risk_rows(countries: dict[str, Country]) -> list[SourceRow]:
    rows = [_row("Method: country and project risk", "", "", ASSUMPTION, "",
                 "OECD country risk category (0-7; an approximate reading of the 2025 list) -> "
                 "yearly country-wide loss probability 0.25% x 2^(category - 4); delay "
                 "probability and largest delay by category "
                 + "; ".join(f"{c}: {p:.0%}, up to {k} years" for c, (p, k) in
                             sorted(DELAY_BY_CATEGORY.items()))
                 + ". Fixed before any plan was solved, not tuned to a result")]
    for country, c in countries.items():
        rows.append(_row(f"Countries: {country}", f"{c.loss_probability:.2%} a year",
                         "fraction", ASSUMPTION, "",
                         f"OECD category {OECD_CATEGORY[country]} (approximate); delays "
                         f"{c.delay_probability:.0%}, up to {c.max_delay_years} years"))
    for site, q in UKRAINE_SITE_LOSS.items():
        ids = ", ".join(pid for pid, s in UKRAINE_SITES.items() if s == site)
        rows.append(_row(f"Projects: loss_probability, Ukraine {site}", f"{q:.0%} a year",
                         "fraction", ASSUMPTION, "",
                         f"{ids}; {q / UKRAINE_SITE_LOSS['elsewhere']:g} x the rate elsewhere in "
                         "Ukraine, on top of the country-wide event"))
    return rows


# --------------------------------------------------------------------------------------------
# Settings and budget (assumptions)
# --------------------------------------------------------------------------------------------

FIRST_YEAR = 2026
HORIZON = 25
TARGET_YEAR = 2035
# (first year, last year, $M a year)
BUDGET_PHASES = ((2026, 2030, 600.0), (2031, 2040, 750.0), (2041, 2050, 900.0))
TOTAL_BUDGET = 6400.0


def build_settings() -> Settings:
    return Settings(
        first_year=FIRST_YEAR, horizon_years=HORIZON, discount_rate=0.08, objective="weighted",
        capex_basis="mid", total_budget_musd=TOTAL_BUDGET, budget_carryover=True,
        target_year=TARGET_YEAR, time_limit_s=120.0,
    )


def build_budget(settings: Settings) -> dict[int, float]:
    budget = {}
    for lo, hi, amount in BUDGET_PHASES:
        for year in range(lo, hi + 1):
            budget[year] = amount
    missing = [y for y in settings.years if y not in budget]
    if missing:
        raise ValueError(f"budget phases miss years {missing}")
    return {y: budget[y] for y in settings.years}


def _range(values) -> str:
    v = sorted(values)
    return f"{v[0]:.2f}" if v[0] == v[-1] else f"{v[0]:.2f}-{v[-1]:.2f}"


def assumption_rows(settings: Settings, projects: list[Project]) -> list[SourceRow]:
    plants = [p for p in projects if p.kind == "plant"]
    offtakes = [p for p in projects if p.kind == "offtake"]
    mid = sum(p.capex("mid") for p in projects)
    phases = "; ".join(f"{lo}-{hi}: {fmt(a)}" for lo, hi, a in BUDGET_PHASES)
    return [
        _row("Method: china_share", "", "", ASSUMPTION, "", "no USGS figure gives the China-"
             "dependent share of US demand. Rare earths: NIR x China's published share of US "
             "imports. China among the listed US import sources: NIR x China's share of world "
             "production 2024e. China not listed: the same x the indirect-exposure factor. An NIR "
             "published as a bound (>50) uses the bound"),
        _row("Method: indirect-exposure factor", fmt(INDIRECT_FACTOR), "", ASSUMPTION, "",
             "China is not a direct US supplier of these forms; its weight in world output still "
             "reaches US supply through prices, feedstock and Chinese metal in imported goods"),
        _row("Method: us_demand_t where consumption is withheld", "", "", ASSUMPTION, "",
             "net imports / NIR, with NIR at its published bound: an upper estimate, because "
             "withheld domestic production is left out"),
        _row("Method: security_premium_usd_per_t", "", "", ASSUMPTION, "",
             "a stated fraction of the USGS 2024 price per tonne: what a buyer would pay above "
             "market to avoid a Chinese cut-off"),
        _row("Settings: first_year, horizon_years", f"{settings.first_year}, "
             f"{settings.horizon_years}", "year, years", ASSUMPTION, "",
             "plan 2026-2050; USGS 2024 estimates are used as first-year demand"),
        _row("Settings: discount_rate", fmt(settings.discount_rate), "fraction", ASSUMPTION, "",
             "a typical real hurdle rate for a development-finance portfolio"),
        _row("Settings: objective, capex_basis", f"{settings.objective}, {settings.capex_basis}",
             "", ASSUMPTION, "", "NPV plus security premium; budgets checked at mid-range capex"),
        _row("Settings: target_year", str(settings.target_year), "year", ASSUMPTION, "",
             "targets hold from 2035 to the horizon end"),
        _row("Budget: yearly budget_musd", phases, "$M a year", ASSUMPTION, "",
             "a ramping appropriation; unspent budget carries over (budget_carryover TRUE)"),
        _row("Settings: total_budget_musd", fmt(settings.total_budget_musd), "$M", ASSUMPTION, "",
             f"about {fmt(round(100 * settings.total_budget_musd / mid))}% of the "
             f"{fmt(round(mid))} $M mid-range capex of all {len(projects)} candidates: not "
             "everything can be funded"),
        _row("Projects: all capex, build times, start windows, capacities, operating years, NPVs, "
             "risk scores", f"{len(plants)} plants, {len(offtakes)} offtakes", "", ASSUMPTION,
             "", "illustrative figures for a candidate list, not company data; names of real "
             "deposits and plants are used for orientation only"),
        _row("Projects: plant capex and build times",
             f"{fmt(min(p.capex_low_musd for p in plants))}-"
             f"{fmt(max(p.capex_high_musd for p in plants))} $M; "
             f"{min(p.build_years for p in plants)}-{max(p.build_years for p in plants)} years",
             "", ASSUMPTION, "", "refineries, separation facilities and mines with processing; "
             "greenfield mines in conflict or remote areas take 12-18 years"),
        _row("Projects: offtake terms",
             f"prepayment {fmt(min(p.capex_low_musd for p in offtakes))}-"
             f"{fmt(max(p.capex_high_musd for p in offtakes))} $M; delivery within "
             f"{min(p.build_years for p in offtakes)}-{max(p.build_years for p in offtakes)} "
             f"years; {min(p.operating_years for p in offtakes)}-"
             f"{max(p.operating_years for p in offtakes)}-year terms", "", ASSUMPTION, "",
             "npv_musd is the premium paid over market price (negative) or the discount "
             "obtained (positive)"),
        _row("Projects: risk scores", _range(p.risk for p in projects), "fraction", ASSUMPTION,
             "", "political and execution risk by country: " + "; ".join(
                 f"{c} {_range(p.risk for p in projects if p.country == c)}"
                 for c in sorted({p.country for p in projects}))
             + "; Ukraine includes front-line and occupied-territory sites"),
        _row("Projects: capacity_tpa", "tonnes a year to US supply", "t/yr", ASSUMPTION, "",
             "contained antimony, tungsten and chromium; rare-earth oxide; graphite and barite "
             "gross; titanium sponge; a downstream plant's capacity is what it adds to its "
             "upstream plant"),
        _row("Projects: CapexProfile", "; ".join(
                 f"{p.project_id} {'back' if p.capex_profile[-1] > p.capex_profile[0] else 'front'}"
                 "-loaded" for p in projects if len(set(p.capex_profile)) > 1),
             "", ASSUMPTION, "", "long greenfield projects "
             "spend little during studies and permitting; brownfield rebuilds and mines with "
             "pre-stripping spend early"),
        _row("Projects: must_fund", ", ".join(p.project_id for p in projects if p.must_fund),
             "", ASSUMPTION, "", "treated as already committed under a government framework "
             "agreement"),
    ]


# Scenarios the committee asked about (assumptions): each is solved and compared with the base.
SCENARIOS = (
    Scenario("capex +25%", capex_multiplier=1.25),
    Scenario("builds slip 2 years", delay_years=2),
    Scenario("demand +20%", demand_multiplier=1.2),
    Scenario("NPV -30%", npv_multiplier=0.7),
    Scenario("Ukraine lost", lost_countries=("Ukraine",)),
)


def scenario_rows() -> list[SourceRow]:
    return [_row(f"Scenarios: {sc.scenario}", "", "", ASSUMPTION, "",
                 "a stress case for the committee: capex x{:g}, build +{} years, demand x{:g}, "
                 "operating cash flows x{:g}{}".format(
                     sc.capex_multiplier, sc.delay_years, sc.demand_multiplier, sc.npv_multiplier,
                     f", no project in {', '.join(sc.lost_countries)}" if sc.lost_countries
                     else ""))
            for sc in SCENARIOS]


# --------------------------------------------------------------------------------------------

def build_instance() -> Instance:
    usgs = Usgs.load(tuple(sorted({s.salient for s in MINERALS})))
    settings = build_settings()
    minerals, mineral_rows = {}, []
    for spec in MINERALS:
        d = derive_mineral(spec, usgs)
        minerals[d.mineral.mineral] = d.mineral
        mineral_rows.extend(d.rows)
    projects = with_site_risk(_projects())
    countries = build_countries(projects)
    for p in projects:
        if p.mineral not in minerals:
            raise ValueError(f"{p.project_id}: unknown mineral {p.mineral}")
    provenance = [
        _row("Data: USGS Mineral Commodity Summaries 2025 data release", "", "", REAL,
             "U.S. Geological Survey, 2025, https://doi.org/10.5066/P13XCP3R",
             "files copied under data/usgs_mcs2025/ (see its SOURCE.md); 2024 values are "
             "USGS estimates"),
    ]
    return Instance(
        settings=settings,
        minerals=minerals,
        projects={p.project_id: p for p in projects},
        budget=build_budget(settings),
        name="central_asia_refining",
        sources_header=SOURCES_HEADER,
        sources=tuple(provenance + mineral_rows + context_rows(usgs)
                      + assumption_rows(settings, projects) + risk_rows(countries)
                      + scenario_rows()),
        scenarios=SCENARIOS,
        countries=countries,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT,
                    help=f"workbook to write (default {DEFAULT_OUT.relative_to(ROOT)})")
    args = ap.parse_args(argv)
    from optimizer.template import write_workbook

    instance = build_instance()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_workbook(instance, args.out)
    print(f"wrote {args.out}: {len(instance.minerals)} minerals, {len(instance.projects)} "
          f"projects, {len(instance.sources)} source rows")
    for m in instance.minerals.values():
        print(f"  {m.mineral:16s} demand {m.us_demand_t:>12,.0f} t  china_share {m.china_share:.4f}"
              f"  premium {m.security_premium_usd_per_t:>8,.0f} $/t")
    return 0


if __name__ == "__main__":
    sys.exit(main())
