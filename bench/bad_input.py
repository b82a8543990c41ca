"""Bad input, measured: every file of testkit/badfiles.py through the library, with its answer and time.

    python -m bench.bad_input [--checkpoint checkpoints/lenet5] [--repeat 3]

Prints, per file, what the predictor answered (a digit, or the one-line message it raised), what
the tests expect, and the best of `--repeat` wall times, then how many got the expected answer
(exit 1 if any did not). The test suite asserts the same answers and a 2 s bound; this shows how
far inside the bound each one is.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

from lenet import DEFAULT_CHECKPOINT, ImageError, NoDigitError, Predictor
from testkit.badfiles import NO_DIGIT, UNREADABLE, make_bad_files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="checkpoint folder (default: shipped)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per file; the best is shown (default: 3)")
    args = parser.parse_args()

    predictor = Predictor.from_checkpoint(args.checkpoint)
    with tempfile.TemporaryDirectory() as folder:
        cases = make_bad_files(Path(folder))
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; best of {args.repeat}")
        print(f"{'file':18} {'size':>9}  {'expected':10} {'ms':>7}  answer")
        wrong = []
        for case in cases:
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                try:
                    answer = got = predictor.predict(case.file).top[0][0]
                except (ImageError, NoDigitError) as err:
                    answer = str(err).removeprefix(f"{case.file.name}: ")  # messages name the file, not its folder
                    got = UNREADABLE if isinstance(err, ImageError) else NO_DIGIT
                times.append(time.perf_counter() - start)
            if got != case.expect or case.says.lower() not in answer.lower():
                wrong.append(case.file.name)
            size = case.file.stat().st_size
            print(f"{case.file.name:18} {size:>9,}  {case.expect:10} {1000 * min(times):7.1f}  {answer}")
        print(f"{len(cases) - len(wrong)}/{len(cases)} as expected" + (f"; not: {', '.join(wrong)}" if wrong else ""))
        sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
