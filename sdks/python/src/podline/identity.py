"""Which attempt of which task this container is: the variables the worker sets on every pod."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ._contract import (
    ATTEMPT_ENV,
    MAP_INDEX_ENV,
    PIPELINE_ENV,
    RUN_ID_ENV,
    TASK_ENV,
    TRACEPARENT_ENV,
    TRACESTATE_ENV,
)
from .result import result_path


class ContractError(RuntimeError):
    """The environment is not the one the worker gives a pod task: says which variable and why."""


@dataclass(frozen=True)
class TaskIdentity:
    """The attempt this container runs, as the worker named it in the pod's environment."""

    pipeline: str
    run_id: str
    task: str
    #: 1 for the first attempt; a retry is a new attempt (and a new pod).
    attempt: int
    #: The item's index in a mapped pod task (`.mapPod`), from 0; None for other tasks.
    map_index: int | None
    #: Where write_result writes ($PODLINE_XCOM_PATH).
    xcom_path: str
    #: The attempt's trace context (W3C), when the worker traces.
    traceparent: str | None = None
    tracestate: str | None = None


def task_identity(environ: Mapping[str, str] | None = None) -> TaskIdentity:
    """Reads the task's identity from the environment.

    >>> import podline
    >>> podline.task_identity({"PODLINE_PIPELINE": "etl", "PODLINE_RUN_ID": "r1",
    ...     "PODLINE_TASK": "transform", "PODLINE_ATTEMPT": "2"}).attempt
    2
    """
    env = os.environ if environ is None else environ
    missing = [name for name in (PIPELINE_ENV, RUN_ID_ENV, TASK_ENV, ATTEMPT_ENV) if not env.get(name)]
    if missing:
        raise ContractError(
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: the Podline worker sets "
            "them on the base container of a pod task; run this program as a pod task, or set them to try it"
        )
    return TaskIdentity(
        pipeline=env[PIPELINE_ENV],
        run_id=env[RUN_ID_ENV],
        task=env[TASK_ENV],
        attempt=_whole_number(env, ATTEMPT_ENV, minimum=1),
        map_index=_whole_number(env, MAP_INDEX_ENV, minimum=0) if env.get(MAP_INDEX_ENV) else None,
        xcom_path=result_path(env),
        traceparent=env.get(TRACEPARENT_ENV) or None,
        tracestate=env.get(TRACESTATE_ENV) or None,
    )


def _whole_number(env: Mapping[str, str], name: str, *, minimum: int) -> int:
    text = env[name]
    if not text.isascii() or not text.isdigit() or int(text) < minimum:
        raise ContractError(
            f"{name}={text!r} is not a whole number of at least {minimum}; the worker sets it, so unset it or fix it"
        )
    return int(text)
