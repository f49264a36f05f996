"""The `score` pod task of examples/python-pod.ts: sums the amounts `extract` read.

Its inputs and its result are typed by the models generated from the pipeline's schemas
(npx podline codegen examples/python-pod.ts --python examples/python/models).
"""

import math
import os

import podline
from models import ScoreInputs, ScoreOutput


def main() -> None:
    task = podline.task_identity()
    inputs = podline.load_json(os.environ["SCORE_INPUTS"], ScoreInputs)
    # Text from a CSV file: float() also reads "nan", which would make the total NaN.
    amounts = [float(amount) for amount in inputs.extract.amounts]
    print(f"{task.task} attempt {task.attempt}: {len(amounts)} amounts from {inputs.extract.file}")
    result = ScoreOutput(
        file=inputs.extract.file,
        count=len(amounts),
        total=math.fsum(amounts),
        largest=max(amounts, default=None),
    )
    written = podline.write_result(result)
    print(f"wrote {written.size} bytes (sha256 {written.sha256[:12]}…)")


if __name__ == "__main__":
    main()
