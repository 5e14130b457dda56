"""The README's usage example runs and prints what the README says it prints."""

import contextlib
import io
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_usage_example_runs_and_its_output_is_quoted_truthfully():
    text = README.read_text()
    usage = text.split("## Usage", 1)[1]
    code = re.search(r"```python\n(.*?)```", usage, re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    printed = out.getvalue().splitlines()
    neural, kmeans = (float(line.split(": ")[1]) for line in printed)
    assert neural >= 0.95 > kmeans
    for line in printed:
        assert f"`{line}`" in usage, f"README does not quote the printed line {line!r}"


def test_consensus_example_runs_on_the_usage_example_model():
    usage = README.read_text().split("## Usage", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", usage, re.S)
    consensus = [block for block in blocks if "ConsensusClusterer(" in block]
    assert len(consensus) == 1
    namespace = {"__name__": "readme"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(blocks[0], str(README), "exec"), namespace)
        exec(compile(consensus[0], str(README), "exec"), namespace)
    fitted = namespace["consensus"]
    assert len(fitted.estimators_) == 3
    assert (namespace["labels"] == fitted.predict(namespace["X"])).all()


def test_plain_pytorch_loop_runs_and_its_output_is_quoted_truthfully():
    usage = README.read_text().split("## Usage", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", usage, re.S)
    loops = [block for block in blocks if "loss.backward()" in block]
    assert len(loops) == 1
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(loops[0], str(README), "exec"), {"__name__": "readme"})
    (line,) = out.getvalue().splitlines()
    assert float(line.split(": ")[1]) >= 0.9  # the KMeans baseline scores 0.44
    assert f"`{line}`" in usage, f"README does not quote the printed line {line!r}"
