"""Which gemeenten of a year's layout make up today's gemeente (the real merger lineage)."""

from __future__ import annotations

from veiligheidsbeeld import regions as R
from veiligheidsbeeld.warehouse.geography import police_layout_codes


def test_mergers_add_their_predecessors_also_in_chains() -> None:
    assert R.layout_parts("GM0299", 2015).parts == ("GM0196", "GM0299")  # Zevenaar + Rijnwaarden (merged 2018)
    assert R.layout_parts("GM0299", 2017).parts == ("GM0196", "GM0299")
    assert R.layout_parts("GM0299", 2018).parts == ("GM0299",)
    # Millingen aan de Rijn + Ubbergen -> Groesbeek 2015 -> Berg en Dal 2016.
    assert R.layout_parts("GM1945", 2013).parts == ("GM0241", "GM0265", "GM0282")
    assert R.layout_parts("GM1945", 2015).parts == ("GM0241",)
    assert R.layout_parts("GM1945", 2016).parts == ("GM1945",)
    # West Betuwe 2019 from Geldermalsen, Neerijnen and Lingewaal.
    assert R.layout_parts("GM1960", 2018).parts == ("GM0236", "GM0304", "GM0733")
    assert R.layout_parts("GM1960", 2019).parts == ("GM1960",)
    # An unchanged gemeente and a non-gemeente code are themselves.
    assert R.layout_parts("GM0153", 2013).parts == ("GM0153",)
    assert R.layout_parts("WK015300", 2013).parts == ("WK015300",)
    assert all(not R.layout_parts(c, y).splits for c in ("GM0299", "GM1945", "GM1960") for y in range(2013, 2024))


def test_a_split_gemeente_is_not_added_to_any_of_its_successors() -> None:
    # Haaren (GM0788) was split in 2021 over Vught, Oisterwijk, Tilburg and Boxtel.
    for code in ("GM0865", "GM0824", "GM0855", "GM0757"):
        before = R.layout_parts(code, 2020)
        assert before.splits == ("GM0788",) and "GM0788" not in before.parts and code in before.parts
        assert R.layout_parts(code, 2021).splits == ()
    assert R.layout_parts("GM0153", 2020).splits == ()


def test_the_ingest_asks_for_the_predecessors_of_every_year() -> None:
    codes = police_layout_codes(["GM0299", "GM1945", "GM1960"], range(2013, 2024))
    assert codes == sorted(["GM0299", "GM0196", "GM1945", "GM0241", "GM0265", "GM0282", "GM1960", "GM0236",
                            "GM0304", "GM0733"])
    assert police_layout_codes(["GM0153"], range(2013, 2024)) == ["GM0153"]
