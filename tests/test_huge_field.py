"""A CSV field longer than Arrow's read block is read, not refused (issue 12 item 7)."""

from pathlib import Path

import pandas as pd

from drgsim import stream

ROOT = Path(__file__).resolve().parents[1]


def test_streamed_csv_with_a_field_larger_than_the_block(tmp_path):
    df = pd.read_csv(ROOT / "sample_cases" / "cases.csv", dtype=str, keep_default_na=False).head(300)
    df.loc[150, "dept"] = "X" * (20 << 20)  # 20 MiB: Arrow refuses it with a 4 MiB block
    path = tmp_path / "huge.csv"
    df.to_csv(path, index=False)
    src = stream.CaseSource(path, chunk_rows=40)
    chunks = list(src.tables())
    got = pd.concat([c.to_pandas() if hasattr(c, "to_pandas") else c for c in chunks],
                    ignore_index=True)
    assert len(got) == 300 and got["case_id"].tolist() == df["case_id"].tolist()
    assert len(got.loc[150, "dept"]) == 20 << 20
    assert [len(c) for c in chunks][:-1] == [40] * (len(chunks) - 1)  # exact chunks still
