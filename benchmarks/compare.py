"""The default comparison: every method on every dataset, three seeds.

The same harness as ``skts bench``; this script writes into
``benchmarks/results`` by default:

    python benchmarks/compare.py            # = skts bench --output benchmarks/results
    python benchmarks/compare.py --datasets /data/UCR/Coffee --seeds 0
"""

import sys

from skts.cli import main

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--output" not in args:
        args += ["--output", "benchmarks/results"]
    sys.exit(main(["bench", *args]))
