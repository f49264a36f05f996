"""Typed results and inputs for the Python code of Podline pod tasks.

>>> import podline
>>> podline.encode_result({"table": "orders", "count": 1200})
b'{"table":"orders","count":1200}'
"""

from ._contract import (
    DEFAULT_XCOM_LIMIT_BYTES,
    DEFAULT_XCOM_PATH,
    DEFAULT_XCOM_STORE_LIMIT_BYTES,
    FRAME_LIMIT_BYTES,
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
)
from .identity import ContractError, TaskIdentity, task_identity
from .inputs import InputError, StoredInput, load_json, read_stored_input
from .json_rules import JsonValue, Reason, ResultError
from .result import (
    CheckedResult,
    WrittenResult,
    check_result_bytes,
    check_result_file,
    encode_result,
    result_path,
    write_result,
)

# Tracebacks name the errors where they are imported from: podline.ResultError.
for _error in (ContractError, InputError, ResultError):
    _error.__module__ = __name__

__all__ = [
    "DEFAULT_XCOM_LIMIT_BYTES",
    "DEFAULT_XCOM_PATH",
    "DEFAULT_XCOM_STORE_LIMIT_BYTES",
    "FRAME_LIMIT_BYTES",
    "MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "CheckedResult",
    "ContractError",
    "InputError",
    "JsonValue",
    "Reason",
    "ResultError",
    "StoredInput",
    "TaskIdentity",
    "WrittenResult",
    "check_result_bytes",
    "check_result_file",
    "encode_result",
    "load_json",
    "read_stored_input",
    "result_path",
    "task_identity",
    "write_result",
]
