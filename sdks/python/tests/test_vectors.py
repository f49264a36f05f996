"""The shared result vectors (sdks/vectors/results.json): the worker runs the same cases through its
own checks in packages/runner/src/pods/result-vectors.test.ts, so the two sides cannot drift."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import podline
from vectors import Case, load_cases

CASES = load_cases()


def test_the_vectors_cover_what_they_promise() -> None:
    reasons = {case.reason for case in CASES}
    assert {"non_finite_number", "not_json", "invalid_utf8", "unstorable_text", "too_large", "too_deep"} <= reasons
    assert {case.expect for case in CASES} == {"accepted", "refused", "no-value"}
    assert any(case.worker == "store" for case in CASES)


@pytest.mark.parametrize("case", [c for c in CASES if c.has_value], ids=lambda c: c.name)
def test_write_result_decides_as_the_vector_says(case: Case, tmp_path: Path) -> None:
    target = tmp_path / "return.json"
    if case.expect == "refused":
        with pytest.raises(podline.ResultError) as refused:
            podline.write_result(case.value, path=str(target), max_bytes=case.limit)
        assert (refused.value.reason, refused.value.path) == (case.reason, case.path if case.path else None)
        # A refused value leaves no file, and no temporary one beside it.
        assert list(tmp_path.iterdir()) == []
        return
    written = podline.write_result(case.value, path=str(target), max_bytes=case.limit)
    data = target.read_bytes()
    if case.file is not None:
        # Byte for byte what the worker's side of the vector reads.
        assert data == case.file
    assert (written.size, written.sha256) == (len(data), hashlib.sha256(data).hexdigest())


@pytest.mark.parametrize("case", [c for c in CASES if c.file is not None], ids=lambda c: c.name)
def test_the_file_is_judged_as_the_vector_says(case: Case) -> None:
    assert case.file is not None
    if case.expect == "refused":
        with pytest.raises(podline.ResultError) as refused:
            podline.check_result_bytes(case.file, max_bytes=case.limit)
        assert refused.value.reason == case.reason
        return
    checked = podline.check_result_bytes(case.file, max_bytes=case.limit)
    if case.expect == "no-value":
        assert checked is None
        return
    assert checked is not None
    if case.has_value:
        assert checked.value == case.value
