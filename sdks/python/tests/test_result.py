from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

import podline


class Row(BaseModel):
    name: str
    score: float


class Report(BaseModel):
    table: str
    rows: list[Row]


def test_writes_to_podline_xcom_path_as_compact_utf8(tmp_path: Path) -> None:
    target = tmp_path / "return.json"
    written = podline.write_result(
        {"table": "orders", "städte": ["Köln"]}, environ={"PODLINE_XCOM_PATH": str(target)}
    )
    assert written.path == str(target)
    assert target.read_bytes() == '{"table":"orders","städte":["Köln"]}'.encode()


def test_the_default_path_is_airflows() -> None:
    assert podline.result_path({}) == "/airflow/xcom/return.json"
    assert podline.result_path({"PODLINE_XCOM_PATH": "/data/out.json"}) == "/data/out.json"


def test_a_pydantic_model_is_dumped_in_json_mode(tmp_path: Path) -> None:
    target = tmp_path / "return.json"
    podline.write_result(Report(table="t", rows=[Row(name="a", score=1.5)]), path=str(target))
    assert target.read_text() == '{"table":"t","rows":[{"name":"a","score":1.5}]}'


def test_a_model_inside_a_value_is_dumped_too() -> None:
    assert podline.encode_result({"best": Row(name="a", score=2)}) == b'{"best":{"name":"a","score":2.0}}'


def test_the_file_is_readable_by_the_sidecars_user_and_replaces_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "return.json"
    target.write_text("old")
    target.chmod(0o600)
    podline.write_result([1, 2], path=str(target))
    assert target.read_text() == "[1,2]"
    # The sidecar runs as user 65534: a result only its writer can read would be lost.
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["return.json"]


def test_a_failed_write_leaves_the_previous_file_and_no_temporary_one(tmp_path: Path) -> None:
    target = tmp_path / "return.json"
    target.write_text('{"kept":true}')
    with pytest.raises(podline.ResultError):
        podline.write_result({"x": float("nan")}, path=str(target))
    assert target.read_text() == '{"kept":true}'
    # A folder at the result's path cannot be replaced: the temporary file is removed.
    folder = tmp_path / "folder.json"
    folder.mkdir()
    with pytest.raises(IsADirectoryError):
        podline.write_result(1, path=str(folder))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.json", "return.json"]


def test_refusals_name_the_task_the_path_and_the_reason() -> None:
    env = {"PODLINE_TASK": "transform"}
    with pytest.raises(podline.ResultError) as refused:
        podline.encode_result({"rows": [{"score": float("inf")}]}, environ=env)
    assert refused.value.reason == "non_finite_number"
    assert refused.value.path == "$.rows[0].score"
    assert str(refused.value).startswith('the result of pod task "transform": $.rows[0].score is Infinity')
    with pytest.raises(podline.ResultError, match=r'\$\["a key"\] is bytes \(3 of them\).*base64'):
        podline.encode_result({"a key": b"abc"})


def test_a_circular_value_is_refused_not_a_recursion_error() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(podline.ResultError, match=r"\$\.a\[0\] is a circular reference") as refused:
        podline.encode_result({"a": loop})
    assert refused.value.reason == "not_json"
    # The same list twice, side by side, is no cycle.
    shared = [1]
    assert podline.encode_result([shared, shared]) == b"[[1],[1]]"


def test_a_datetime_gets_a_hint() -> None:
    from datetime import date

    with pytest.raises(podline.ResultError, match=r"\$\.day is a date, which is not JSON: write value\.isoformat\(\)"):
        podline.encode_result({"day": date(2026, 11, 21)})


def test_tuples_and_str_enums_are_written_as_json_writes_them() -> None:
    from enum import Enum

    class Colour(str, Enum):
        RED = "red"

    assert podline.encode_result({"t": (1, "a"), "c": Colour.RED}) == b'{"t":[1,"a"],"c":"red"}'


def test_max_bytes_refuses_a_larger_result_before_it_is_written(tmp_path: Path) -> None:
    target = tmp_path / "return.json"
    with pytest.raises(podline.ResultError, match="is 1048579 bytes, over the limit of 1048576 bytes") as refused:
        podline.write_result("a" * (podline.FRAME_LIMIT_BYTES + 1), path=str(target), max_bytes=podline.FRAME_LIMIT_BYTES)
    assert refused.value.reason == "too_large"
    assert not target.exists()


def test_check_result_file_reads_what_another_program_wrote(tmp_path: Path) -> None:
    target = tmp_path / "return.json"
    assert podline.check_result_file(str(target)) is None
    target.write_bytes(b'\xef\xbb\xbf{"a": 1}\n')
    checked = podline.check_result_file(str(target))
    assert checked is not None and checked.value == {"a": 1} and checked.size == 12
    target.write_text("  ")
    assert podline.check_result_file(str(target)) is None
    target.write_text('{"a": NaN}')
    with pytest.raises(podline.ResultError, match="bare token NaN"):
        podline.check_result_file(str(target))


def test_check_result_file_refuses_a_symlink_as_the_worker_does(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("1")
    link = tmp_path / "return.json"
    os.symlink(real, link)
    with pytest.raises(podline.ResultError, match="not a regular file"):
        podline.check_result_file(str(link))


class Shipment(BaseModel):
    """As podline codegen writes them: an alias for a key that is no identifier, optional members."""

    free_form: int = Field(..., alias="free-form")
    note: str | None = None
    largest: float | None
    status: str = "ok"


def test_a_model_is_written_by_alias_and_without_the_optional_members_left_unset() -> None:
    # note is optional in the schema (absent, which zod refuses as null); largest is nullable and set.
    shipment = Shipment.model_validate({"free-form": 1, "largest": None})
    assert podline.encode_result(shipment) == b'{"free-form":1,"largest":null,"status":"ok"}'
    # A member set to None on purpose is written as null.
    explicit = Shipment.model_validate({"free-form": 1, "largest": 2.5, "note": None})
    assert podline.encode_result([explicit]) == b'[{"free-form":1,"note":null,"largest":2.5,"status":"ok"}]'
