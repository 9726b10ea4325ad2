# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Woninginbraak in één gemeente — een startpunt voor analisten
#
# Dit notebook opent het warehouse **alleen-lezen** (een lopende ingest of flow wordt dus nooit
# gestoord), haalt de maandreeks woninginbraak (politietabel 47022NED, code 1.1.1) van één gemeente
# op en tekent die met de grafiekfunctie van de rapporten zelf.
#
# Openen als notebook: `jupytext --to ipynb notebooks/woninginbraak_gemeente.py` (of open het
# `.py`-bestand direct in Jupyter met de jupytext-extensie). Het `.py`-bestand is de bron: dat staat
# in git en laat zich netjes vergelijken.
#
# Kies hieronder de gemeente en eventueel een ander warehouse (bijvoorbeeld dat van de demo:
# `demo/warehouse/demo.duckdb`). Zonder pad geldt de instelling uit `veiligheidsbeeld.toml` of de
# omgevingsvariabele `VEILIGHEIDSBEELD_WAREHOUSE`.

# %% tags=["parameters"]
GEMEENTE = "Enschede"
WAREHOUSE = None  # bijvoorbeeld "demo/warehouse/demo.duckdb"
JAREN_TERUG = 3

# %%
import os

from IPython.display import Image, display

from veiligheidsbeeld.config import load_settings
from veiligheidsbeeld.regions import resolve_gemeente
from veiligheidsbeeld.reports import charts
from veiligheidsbeeld.warehouse import db, queries

settings = load_settings(None, warehouse=WAREHOUSE or os.environ.get("VEILIGHEIDSBEELD_WAREHOUSE"))
warehouse = settings.paths.resolved().warehouse
gemeente = resolve_gemeente(GEMEENTE, None)
print(f"{gemeente.naam} ({gemeente.code}), district {gemeente.district_naam}; warehouse {warehouse}")

# %% [markdown]
# ## De maandreeks uit het warehouse
#
# `queries.monthly_counts` geeft één rij per maand; een onderdrukte cel (niet gepubliceerd) is
# `NaN`, nooit 0. `queries.data_info` geeft de metadata die bij elk cijfer hoort: bron, versie,
# voorlopige en ontbrekende maanden, onderdrukte cellen en of de cijfers synthetisch zijn.

# %%
with db.reader(warehouse) as con:
    reeks = queries.monthly_counts(con, "47022NED", region_codes=[gemeente.code], type_codes=["1.1.1"])
    info = queries.data_info(con, "47022NED", region_codes=[gemeente.code], type_codes=["1.1.1"])

maanden = reeks.set_index("month")["count"].sort_index()
if info.synthetic:
    print("LET OP: SYNTHETISCHE CIJFERS (demo/test) — deze aantallen zeggen niets over de werkelijkheid.")
print(info.source_line())
if info.missing_months:
    print("Ontbrekende maanden:", ", ".join(f"{m:%Y-%m}" for m in info.missing_months))
maanden.tail(12)

# %% [markdown]
# ## Dezelfde maanden van eerdere jaren
#
# `charts.plot_monthly_series` is de grafiek van het tweewekelijkse rapport: het lopende jaar
# tegen dezelfde maanden van eerdere jaren, ontbrekende maanden gemarkeerd, voorlopige maanden open.

# %%
fig = charts.plot_monthly_series(
    maanden,
    latest=info.last_month,
    years=JAREN_TERUG,
    title=f"Woninginbraak in {gemeente.naam}",
    subtitle="geregistreerde woninginbraken per maand" + (" — SYNTHETISCHE CIJFERS" if info.synthetic else ""),
    provisional=info.provisional_months,
    source=info.source_line(),
)
display(Image(charts.figure_png(fig)))

# %% [markdown]
# ## Verder
#
# - Jaartotalen: `maanden.groupby(lambda m: m.year).sum(min_count=12)` (een jaar met een
#   ontbrekende of onderdrukte maand wordt `NaN`, niet te laag).
# - Alle tabellen en views van het warehouse: `con.execute("SHOW TABLES").df()`; de views
#   `misdrijven` en `overlast` hebben namen bij de codes.
# - Toetsen van veranderingen: `veiligheidsbeeld.analysis.stats.compare_counts`.
