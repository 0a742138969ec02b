"""bench/records.py: result rows read back, and what is wrong with a bad one."""

import json
import re

import pytest
from helpers import fake_rows

from noisy_select.cli import main


def test_rows_of_an_older_schema_are_refused_with_how_to_rerun(tmp_path, capsys):
    old = {k: v for k, v in fake_rows()[0].items() if k not in ("schema", "config_hash")}
    results = tmp_path / "r.jsonl"
    results.write_text(json.dumps(old) + "\n")
    assert main(["compare", "all", "fixed-rates", "--scenarios", "olympiad", "--seeds", "0",
                 "-r", str(results), "--summary", str(tmp_path / "c.md")]) == 3
    err = capsys.readouterr().err
    assert "line 1: a row of result schema 1" in err and "-r NEW.jsonl" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.jsonl"]


@pytest.mark.parametrize("content, message", [
    (None, "Expected a results file at .*r.jsonl, but it does not exist"),
    ('{"scenario": "olympiad"\n{"seed": 1}\n', r"r.jsonl, line 1: not a JSON row"),
    (json.dumps(fake_rows()[0]) + "\n" + json.dumps({"seed": 1}) + "\n",
     r"r.jsonl, line 2: the row lacks \['schema', 'scenario', 'strategy'"),
])
def test_summary_names_the_file_and_line_of_bad_results(tmp_path, capsys, content, message):
    results = tmp_path / "r.jsonl"
    if content is not None:
        results.write_text(content)
    assert main(["summary", "-r", str(results), "--summary", str(tmp_path / "R.md"),
                 "--figures", str(tmp_path / "f")]) == 3
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and re.search(message, err)
    assert not (tmp_path / "R.md").exists()
