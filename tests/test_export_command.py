"""micrograd export: the PyTorch script it writes runs and gives the model's outputs, the ONNX
file loads and computes them too, and every way it can go wrong is one line and an exit status."""

from __future__ import annotations

import ast
import math
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from clitools import one_error_line, run
from micrograd.gpt import GPT
from micrograd.interop import pytorch_script
from micrograd.nn import MLP, Neuron

CLOSE = {"rel_tol": 1e-12, "abs_tol": 1e-12}


def saved(folder: Path, activation: str | None = None, out: str | None = None) -> Path:
    """A seeded MLP(2, [5, 4, 2]) saved as folder/model.json, as micrograd train saves one."""
    random.seed(7)
    path = folder / "model.json"
    MLP(2, [5, 4, 2], activation=activation, out_activation=out).save(path)
    return path


def printed_list(out: str, label: str) -> list[float]:
    """The list of numbers the script printed on its line starting with ``label``."""
    line = next(line for line in out.splitlines() if line.startswith(label + " "))
    numbers: list[float] = ast.literal_eval(line[len(label) + 1 :])
    return numbers


# --- the script: written without PyTorch ---


def test_export_torch_writes_the_models_script(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--torch writes pytorch_script of the saved model (no PyTorch needed) and says so."""
    model = saved(tmp_path)
    script = tmp_path / "net.py"
    code, out, err = run(capsys, "export", str(model), "--torch", str(script))
    assert (code, out, err) == (0, f"wrote {script}\n", "")
    assert script.read_text(encoding="utf-8") == pytorch_script(MLP.from_file(model))


def test_the_help_lists_export(capsys: pytest.CaptureFixture[str]) -> None:
    """micrograd --help lists the export command, and export --help names its options."""
    code, out, _ = run(capsys, "--help")
    assert (code, "export " in out, "--torch moons.py" in out) == (0, True, True)
    code, out, _ = run(capsys, "export", "--help")
    assert (code, "--torch FILE" in out, "--onnx FILE" in out) == (0, True, True)


# --- what goes wrong: one line, an exit status, nothing written ---


def damaged(folder: Path) -> Path:
    """A model.json cut off in the middle."""
    path = saved(folder)
    path.write_bytes(path.read_bytes()[:100])
    return path


def tampered(folder: Path) -> Path:
    """A model.json one of whose weights was changed by hand (its checksum no longer fits)."""
    path = saved(folder)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"layers.0.neurons.0.b":0.0', '"layers.0.neurons.0.b":1.0'))
    return path


def a_neuron(folder: Path) -> Path:
    """A checkpoint of a lone Neuron: a model, but no kind that goes to PyTorch."""
    path = folder / "neuron.json"
    Neuron(2).save(path)
    return path


def not_json(folder: Path) -> Path:
    """A text file that is no checkpoint."""
    path = folder / "notes.json"
    path.write_text("hello", encoding="utf-8")
    return path


BAD_MODELS: dict[str, tuple[Any, str]] = {
    "missing": (lambda folder: folder / "nope.json", "cannot export: no checkpoint at "),
    "truncated": (damaged, "cannot export: .* is not valid JSON"),
    "tampered": (tampered, "cannot export: .* is damaged: its checksum does not match"),
    "not a checkpoint": (not_json, "cannot export: .* is not a micrograd checkpoint"),
    "a neuron": (a_neuron, r"cannot export: it holds 'ReLUNeuron\(2\)' .*not a model that goes"),
    "a folder": (lambda folder: folder, "cannot export: .* is a folder, not a model$"),
}


@pytest.mark.parametrize("case", BAD_MODELS)
def test_a_bad_model_is_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    """A missing, damaged or foreign model.json (or a folder) is one error line, status 2, and
    no file written."""
    make, message = BAD_MODELS[case]
    model = make(tmp_path)
    script = tmp_path / "out.py"
    code, out, err = run(capsys, "export", str(model), "--torch", str(script))
    assert (code, out, script.exists()) == (2, "", False)
    line = one_error_line(err)
    assert line.startswith("micrograd export: error: ")
    assert re.search(message, line), line


def test_a_run_folder_names_its_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Given the run folder rather than its model.json, the error says which file to give."""
    saved(tmp_path)
    code, _, err = run(capsys, "export", str(tmp_path), "--torch", str(tmp_path / "x.py"))
    expected = (
        f"micrograd export: error: cannot export: {tmp_path} is a folder, not a model: give "
        f"{tmp_path / 'model.json'}"
    )
    assert (code, one_error_line(err)) == (2, expected)


def test_usage_errors_are_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No output asked for, an output that is the model itself, one file for both outputs, or
    a name of the other kind are usage errors (status 2) that write nothing and leave the
    model as it was."""
    model = saved(tmp_path)
    before = model.read_bytes()
    cases = [
        ([], "give --torch FILE, --onnx FILE or both"),
        (["--torch", str(model)], f"{model} is the model itself: write elsewhere"),
        (["--onnx", str(model)], f"{model} is the model itself: write elsewhere"),
        (["--torch", "a.py", "--onnx", "a.py"], "--torch and --onnx name the same file"),
        # a name of the other kind: a script over an .onnx file, ONNX bytes over a .py
        (["--torch", "m.onnx"], "--torch writes a .py file: give a name ending in .py, not m.onnx"),
        (["--onnx", "m.py"], "--onnx writes a .onnx file: give a name ending in .onnx, not m.py"),
    ]
    for options, message in cases:
        code, out, err = run(capsys, "export", str(model), *options)
        assert (code, out, one_error_line(err)) == (2, "", f"micrograd export: error: {message}")
    assert model.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [model.name]


def test_an_unwritable_output_is_one_line_and_status_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A script that cannot be written (its folder is missing) is one line naming it, status 1."""
    model = saved(tmp_path)
    target = tmp_path / "missing" / "net.py"
    code, out, err = run(capsys, "export", str(model), "--torch", str(target))
    assert (code, out) == (1, "")
    assert one_error_line(err).startswith(f"micrograd export: error: cannot save {target}: ")


@pytest.mark.parametrize("missing", ["torch", "onnx", "onnxscript"])
def test_onnx_without_its_packages_is_one_line_and_writes_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    missing: str,
) -> None:
    """--onnx where PyTorch, onnx or onnxscript cannot be imported is one line naming what is
    missing and the pip command, status 1 (a missing extra), and not even the script is written."""
    monkeypatch.setitem(sys.modules, missing, None)  # importing it now raises ImportError
    model = saved(tmp_path)
    script, onnx_file = tmp_path / "net.py", tmp_path / "net.onnx"
    code, out, err = run(
        capsys, "export", str(model), "--torch", str(script), "--onnx", str(onnx_file)
    )
    assert (code, out, script.exists(), onnx_file.exists()) == (1, "", False, False)
    # Where PyTorch itself is not installed it is named too.
    named = rf"(\w+ and )*{missing}( and \w+)*"
    hint = re.escape('(PyTorch\'s ONNX exporter): pip install "micrograd-learn[onnx]"')
    assert re.fullmatch(
        rf"micrograd export: error: --onnx needs {named} {hint}", one_error_line(err)
    )


# --- with PyTorch: the script runs, the ONNX file loads ---


def outputs_of(model_path: Path, points: list[list[float]]) -> list[float]:
    """The saved model's outputs (micrograd's) for each point, flattened."""
    model = MLP.from_file(model_path)
    return [v.data for point in points for v in model.forward(point)]


@pytest.mark.torch
def test_the_written_script_runs_and_prints_micrograds_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run as a program, the script prints the model's outputs to 1e-12, for its sample input and
    for numbers given on its command line; bad numbers are one line and status 2."""
    model = saved(tmp_path, activation="tanh", out="sigmoid")
    script = tmp_path / "net.py"
    assert run(capsys, "export", str(model), "--torch", str(script))[0] == 0
    sample = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True
    ).stdout
    point = printed_list(sample, "inputs")
    expected = outputs_of(model, [point])
    assert all(
        math.isclose(a, b, **CLOSE) for a, b in zip(expected, printed_list(sample, "outputs"))
    )
    assert expected == printed_list(sample, "micrograd's outputs")
    given = subprocess.run(
        [sys.executable, str(script), "0.75", "-2.5"], capture_output=True, text=True, check=True
    ).stdout
    ours = outputs_of(model, [[0.75, -2.5]])
    theirs = printed_list(given, "outputs")
    assert len(ours) == len(theirs) == 2
    assert all(math.isclose(a, b, **CLOSE) for a, b in zip(ours, theirs))
    bad = subprocess.run([sys.executable, str(script), "1"], capture_output=True, text=True)
    assert (bad.returncode, bad.stderr) == (2, "error: the model takes 2 inputs, got 1\n")


@pytest.mark.torch
@pytest.mark.parametrize(("activation", "out"), [(None, None), ("tanh", "sigmoid")])
def test_the_onnx_file_loads_and_gives_micrograds_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], activation: str | None, out: str | None
) -> None:
    """--onnx writes a file that onnx's checker passes and onnxruntime runs on a batch of any
    size, giving the model's outputs to 1e-12 (relu/linear and tanh/sigmoid nets)."""
    import numpy as np
    import onnx
    import onnxruntime

    model = saved(tmp_path, activation=activation, out=out)
    target = tmp_path / "net.onnx"
    code, printed, err = run(capsys, "export", str(model), "--onnx", str(target))
    assert (code, printed, err) == (0, f"wrote {target}\n", "")
    onnx.checker.check_model(onnx.load(str(target)), full_check=True)
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    points = [[0.5, -1.0], [2.0, 0.25], [-1.5, -0.75], [0.0, 0.0], [3.0, -3.0]]
    (result,) = session.run(["y"], {"x": np.array(points, dtype=np.float64)})
    assert result.shape == (5, 2)
    expected = outputs_of(model, points)
    assert all(math.isclose(a, b, **CLOSE) for a, b in zip(expected, result.ravel().tolist()))


@pytest.mark.torch
def test_a_gpt_exports_as_a_script_and_an_onnx_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A saved micrograd GPT exports too: the script prints its logits after the given tokens,
    and the ONNX file (input 'tokens', a batch of any size) gives its logits at every position,
    both to 1e-12 (head_dim 3: sqrt(3) and RMSNorm's 1e-5 are kept in float64)."""
    import numpy as np
    import onnxruntime

    random.seed(5)
    model = GPT(7, n_embd=6, n_head=2, n_layer=2, block_size=4)
    path = tmp_path / "gpt.json"
    model.save(path)
    script, target = tmp_path / "gpt.py", tmp_path / "gpt.onnx"
    code, out, err = run(capsys, "export", str(path), "--torch", str(script), "--onnx", str(target))
    assert (code, out, err) == (0, f"wrote {script}\nwrote {target}\n", "")
    printed = subprocess.run(
        [sys.executable, str(script), "3", "0", "6"], capture_output=True, text=True, check=True
    ).stdout
    expected = [v.data for v in model([3, 0, 6])[-1]]
    theirs = printed_list(printed, "logits")
    assert len(theirs) == 7
    assert all(math.isclose(a, b, **CLOSE) for a, b in zip(expected, theirs))
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    sequences = [[1, 2, 3, 4], [6, 6, 0, 5], [0, 0, 0, 0]]
    (logits,) = session.run(["y"], {"tokens": np.array(sequences, dtype=np.int64)})
    assert logits.shape == (3, 4, 7)
    ours = [v.data for tokens in sequences for row in model(tokens) for v in row]
    assert all(math.isclose(a, b, **CLOSE) for a, b in zip(ours, logits.ravel().tolist()))
