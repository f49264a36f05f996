from __future__ import annotations

import pytest

import podline

ENV = {
    "PODLINE_PIPELINE": "nightly-etl",
    "PODLINE_RUN_ID": "0b6e3c1e-8c1f-4b5e-9d55-0d1f3f6f7a10",
    "PODLINE_TASK": "transform",
    "PODLINE_ATTEMPT": "2",
    "PODLINE_XCOM_PATH": "/tmp/xcom/return.json",
}


def test_reads_what_the_worker_sets_on_a_pod() -> None:
    identity = podline.task_identity(ENV)
    assert identity == podline.TaskIdentity(
        pipeline="nightly-etl",
        run_id="0b6e3c1e-8c1f-4b5e-9d55-0d1f3f6f7a10",
        task="transform",
        attempt=2,
        map_index=None,
        xcom_path="/tmp/xcom/return.json",
    )


def test_an_item_of_a_mapped_pod_task_has_its_index_and_a_traced_one_its_context() -> None:
    identity = podline.task_identity(
        {**ENV, "PODLINE_MAP_INDEX": "3", "TRACEPARENT": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    )
    assert identity.map_index == 3
    assert identity.traceparent == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_the_xcom_path_defaults_to_airflows() -> None:
    without = {k: v for k, v in ENV.items() if k != "PODLINE_XCOM_PATH"}
    assert podline.task_identity(without).xcom_path == "/airflow/xcom/return.json"


def test_outside_a_pod_it_says_which_variables_are_missing() -> None:
    with pytest.raises(podline.ContractError, match=r"^PODLINE_RUN_ID, PODLINE_ATTEMPT are not set: the Podline worker sets them"):
        podline.task_identity({"PODLINE_PIPELINE": "p", "PODLINE_TASK": "t"})


@pytest.mark.parametrize(("name", "value"), [("PODLINE_ATTEMPT", "0"), ("PODLINE_ATTEMPT", "two"), ("PODLINE_MAP_INDEX", "-1")])
def test_a_malformed_number_is_named(name: str, value: str) -> None:
    with pytest.raises(podline.ContractError, match=f"^{name}='{value}' is not a whole number"):
        podline.task_identity({**ENV, name: value})
