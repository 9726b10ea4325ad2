"""A snapshot's big data files are parsed once per pull, also when tables are pulled together.

The police tables of one ingest are pulled at the same time, partition by partition; with one
cached file, every switch between tables parsed a file of hundreds of megabytes again (the
demo's ingest went from ~30 s to over two minutes when a third table joined the pull).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from veiligheidsbeeld.sources import odata


@pytest.fixture
def parses(monkeypatch):
    calls: list[str] = []
    real = odata._read_json_frame

    def counted(path: Path):
        calls.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(odata, "_read_json_frame", counted)
    monkeypatch.setattr(odata, "_SNAPSHOT_CACHE", odata.OrderedDict())
    return calls


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def test_tables_read_in_turns_are_each_parsed_once(tmp_path, parses):
    files = [write(tmp_path / f"table{i}.json", [{"ID": n, "RegioS": f"GM000{i}", "Totaal": n} for n in range(5)])
             for i in range(3)]
    for _ in range(4):  # partitions of three tables, interleaved
        for path in files:
            assert len(odata._snapshot_table(path).frame) == 5
    assert sorted(parses) == ["table0.json", "table1.json", "table2.json"]


def test_a_changed_file_is_read_again_and_the_old_version_dropped(tmp_path, parses):
    path = write(tmp_path / "table.json", [{"ID": 0, "Totaal": 1}])
    assert odata._snapshot_table(path).frame["Totaal"].tolist() == [1]
    write(path, [{"ID": 0, "Totaal": 2}, {"ID": 1, "Totaal": 3}])
    os.utime(path, (1_700_000_000, 1_700_000_000))  # a new version, even within the same second
    assert odata._snapshot_table(path).frame["Totaal"].tolist() == [2, 3]
    assert parses == ["table.json", "table.json"]
    assert [k[0] for k in odata._SNAPSHOT_CACHE] == [str(path.resolve())]


def test_the_cache_keeps_a_bounded_number_of_files(tmp_path, parses):
    files = [write(tmp_path / f"t{i}.json", [{"ID": i}]) for i in range(odata.SNAPSHOT_CACHE_FILES + 2)]
    for path in files:
        odata._snapshot_table(path)
    assert len(odata._SNAPSHOT_CACHE) == odata.SNAPSHOT_CACHE_FILES
    odata._snapshot_table(files[0])  # the oldest was dropped: parsed again
    assert parses.count("t0.json") == 2
