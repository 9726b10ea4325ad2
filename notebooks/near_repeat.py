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
# # Near-repeat en hotspots van woninginbraak — POLITIE-INTERN
#
# Dit notebook werkt op de **incidentregistraties** in het lokale warehouse (geïmporteerd met
# `veiligheidsbeeld incidenten import`). Die zijn politie-intern: het notebook opent het warehouse
# **alleen-lezen** en toont alleen samenvattingen (de Knox-tabel, aantallen per rastercel). Deel
# geen uitvoer met adressen of coördinaten buiten de politie, en sla het notebook niet op met
# zulke uitvoer.
#
# Openen als notebook: `jupytext --to ipynb notebooks/near_repeat.py`. Kies hieronder het district,
# de periode en de banden. Zonder warehouse-pad geldt `veiligheidsbeeld.toml` of de
# omgevingsvariabele `VEILIGHEIDSBEELD_WAREHOUSE` (demo: `demo/warehouse/demo.duckdb`).

# %% tags=["parameters"]
DISTRICT = "Twente"
WAREHOUSE = None  # bijvoorbeeld "demo/warehouse/demo.duckdb"
SOORT = "1.1.1"  # woninginbraak
DAGEN_TERUG = 365
AFSTANDSBANDEN = [0, 1, 100, 200, 300, 400]
TIJDSBANDEN = [0, 7, 14, 21, 28]

# %%
import os
from datetime import datetime, timedelta

from IPython.display import Image, display

from veiligheidsbeeld.config import load_settings
from veiligheidsbeeld.incidents.charts import plot_grid_map, plot_knox
from veiligheidsbeeld.incidents.hotspots import grid_hotspots
from veiligheidsbeeld.incidents.knox import days_since, knox_test
from veiligheidsbeeld.regions import load_district_table
from veiligheidsbeeld.reports.charts import figure_png
from veiligheidsbeeld.warehouse import db, queries

settings = load_settings(None, warehouse=WAREHOUSE or os.environ.get("VEILIGHEIDSBEELD_WAREHOUSE"))
inc = settings.incidenten
warehouse = settings.paths.resolved().warehouse
districts = load_district_table(settings.area)
gemeenten = districts[(districts["district_naam"] == DISTRICT) | (districts["district_code"] == DISTRICT)]
print(f"District {DISTRICT}: {len(gemeenten)} gemeenten; warehouse {warehouse}")

# %% [markdown]
# ## De incidenten van het afgelopen jaar
#
# `queries.incidents` geeft per registratienummer de rij van de nieuwste import. Het midden van het
# pleegvenster telt; brede vensters (meer dan `max_venster_dagen`) laten we weg uit de Knox-toets.

# %%
tot = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
with db.reader(warehouse) as con:
    alle = queries.incidents(con, [SOORT], tot - timedelta(days=DAGEN_TERUG), tot)
    if alle.empty:  # demo or an older export: the last year of what is there
        alle = queries.incidents(con, [SOORT])
        tot = alle["pleeg_midden"].max().to_pydatetime() + timedelta(days=1)
        alle = alle[alle["pleeg_midden"] >= tot - timedelta(days=DAGEN_TERUG)]
incidenten = alle[alle["gemeente_code"].isin(gemeenten["gemeente_code"])]
if incidenten["synthetic"].any():
    print("LET OP: SYNTHETISCHE INCIDENTEN (demo/test) — zeggen niets over de werkelijkheid.")
bruikbaar = incidenten[incidenten["venster_dagen"] <= inc.max_venster_dagen]
print(f"{len(incidenten)} incidenten ({SOORT}), {len(incidenten) - len(bruikbaar)} met een breed pleegvenster weggelaten.")
incidenten.groupby("gemeente_code").size().rename("aantal")

# %% [markdown]
# ## Knox-toets
#
# Banden zijn halfopen, `[a, b)`; de laatste band is open. De Near Repeat Calculator noemt zijn
# banden één eenheid anders (zie de README): met `AFSTANDSBANDEN = [0, 0.001, 100, 200, 300]` en
# `TIJDSBANDEN = [0, 2, 4]` krijg je de tabel van een NRC-run met 100 m × 3 en 2 dagen × 2.

# %%
knox = knox_test(bruikbaar["x"], bruikbaar["y"], days_since(bruikbaar["pleeg_midden"]), AFSTANDSBANDEN, TIJDSBANDEN,
                 metric=inc.metriek, permutations=inc.permutaties, seed=inc.seed)
display(Image(figure_png(plot_knox(knox, title=f"Near-repeat {SOORT} — district {DISTRICT}",
                                   source="Bron: incidentregistraties (warehouse). POLITIE-INTERN / VERTROUWELIJK"))))
knox.matrix("knox_ratio").round(2)

# %% [markdown]
# ## Hotspots (Getis-Ord Gi*, Benjamini–Hochberg)

# %%
hotspots = grid_hotspots(incidenten, inc.cel_grootte_m, permutations=0, alpha=inc.hotspot_alpha)
print(f"{hotspots.n_hot} hotspotcellen van {inc.cel_grootte_m} m.")
display(Image(figure_png(plot_grid_map(hotspots.areas, "count", title=f"Hotspots {SOORT} — district {DISTRICT}",
                                       hotspots=hotspots))))
hotspots.areas.loc[hotspots.areas["klasse"] == "hotspot", ["cell_id", "count", "gi_z", "p_fdr"]].head(10)
