"""The worker's side of the pod contract, as constants: each one names where the worker defines it.

The worker is TypeScript (packages/runner); these values are copied, not shared, so the test
vectors in sdks/vectors/ are run against both sides to keep them in step.
"""

from typing import Final

# packages/runner/src/pods/pod-builder.ts (podlineEnv): what the base container is given.
XCOM_PATH_ENV: Final = "PODLINE_XCOM_PATH"
PIPELINE_ENV: Final = "PODLINE_PIPELINE"
RUN_ID_ENV: Final = "PODLINE_RUN_ID"
TASK_ENV: Final = "PODLINE_TASK"
ATTEMPT_ENV: Final = "PODLINE_ATTEMPT"
# Only in the pods of a mapped task (`.mapPod`): the item's index, from 0.
MAP_INDEX_ENV: Final = "PODLINE_MAP_INDEX"
# packages/runner/src/tracing/tracing.ts: the attempt's span, when the worker traces.
TRACEPARENT_ENV: Final = "TRACEPARENT"
TRACESTATE_ENV: Final = "TRACESTATE"

# packages/runner/src/pods/xcom-sidecar.ts
DEFAULT_XCOM_PATH: Final = "/airflow/xcom/return.json"

# packages/runner/src/pods/sidecar-script.ts: the largest result the sidecar's log frame carries.
# A larger one needs an XCom store on the worker (the sidecar uploads it); without one the worker
# refuses it unless PODLINE_XCOM_LIMIT_BYTES is raised.
FRAME_LIMIT_BYTES: Final = 1024 * 1024

# packages/runner/src/xcom-store/xcom-limit.ts: the worker's limit without and with an XCom store.
DEFAULT_XCOM_LIMIT_BYTES: Final = 1024 * 1024
DEFAULT_XCOM_STORE_LIMIT_BYTES: Final = 5 * 1024**3

# packages/runner/src/store/xcom-row-value.ts: a result may not use this top-level key.
RESERVED_KEY: Final = "$podline"

# The worker reads numbers as IEEE-754 doubles (JSON.parse) and refuses integers past this
# (packages/runner/src/pods/xcom-value.ts), which would lose digits there.
MAX_SAFE_INTEGER: Final = 2**53 - 1

# packages/runner/src/pods/xcom-value.ts MAX_RESULT_DEPTH: nesting the worker refuses past.
MAX_DEPTH: Final = 512
