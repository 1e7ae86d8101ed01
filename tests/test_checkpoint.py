"""Checkpoint files under faults: linear loading, checksums, all-or-nothing loads, validated
settings, hostile files on --resume, kill -9 during a save, symlinks and failed writes."""

from __future__ import annotations

import errno
import json
import math
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from micrograd import nn
from micrograd.cli import main
from micrograd.engine import Value
from micrograd.nn import MLP, CheckpointError, Module, read_checkpoint
from micrograd.optim import OPTIMIZERS, SGD, Adam, AdamW, Optimizer

# --- helpers ---


def numbers(model: Module) -> list[float]:
    """The model's parameter values."""
    return [p.data for p in model.parameters()]


def trained(kind: str = "adam", sizes: tuple[int, ...] = (3, 1)) -> tuple[MLP, Optimizer]:
    """A small net and its optimizer after two steps, so every buffer holds numbers."""
    random.seed(3)
    model = MLP(2, list(sizes))
    opt = OPTIMIZERS[kind](model.parameters(), lr=0.05)
    if isinstance(opt, SGD):
        opt.momentum = 0.9
    for x, t in (([0.5, -1.0], 1.0), ([-0.3, 0.8], -1.0)):
        loss = (model(x) - t) ** 2  # type: ignore[operator]
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, opt


def snapshot(model: Module, opt: Optimizer | None) -> tuple[list[str], Any]:
    """Everything a load may change, floats by their bits."""
    bits = [p.data.hex() for p in model.parameters()]
    return bits, None if opt is None else json.dumps(opt.state_dict())


def signed(doc: dict[str, Any]) -> str:
    """A checkpoint file's text for ``doc``, with a checksum that matches it (as save writes)."""
    payload = {k: v for k, v in doc.items() if k != "checksum"}
    canonical = nn._canonical(payload)
    return f'{canonical[:-1]},"checksum":"{nn._checksum(canonical)}"}}'


def fresh(kind: str = "adam", sizes: tuple[int, ...] = (3, 1)) -> tuple[MLP, Optimizer]:
    """Another net and optimizer of the same shape, in a different state."""
    random.seed(11)
    model = MLP(2, list(sizes))
    return model, OPTIMIZERS[kind](model.parameters(), lr=0.3)


def temporaries(folder: Path) -> list[str]:
    """The temporary files a save leaves beside its target (none, once it is done)."""
    return sorted(f.name for f in folder.iterdir() if f.name.endswith(".tmp"))


# --- loading is linear ---


class CountingName(str):
    """A parameter name that counts how often it is hashed or compared."""

    calls = 0

    def __hash__(self) -> int:
        CountingName.calls += 1
        return str.__hash__(self)

    def __eq__(self, other: object) -> bool:
        CountingName.calls += 1
        return str.__eq__(self, other)


def name_operations(hidden: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Hashes and comparisons of parameter names while ``MLP(2, [hidden, 1])`` saves and loads."""
    random.seed(0)
    model = MLP(2, [hidden, 1])
    named = model.named_parameters()
    counted = [(CountingName(name), p) for name, p in named]
    monkeypatch.setattr(model, "named_parameters", lambda: counted)
    path = tmp_path / f"m{hidden}.json"
    model.save(path)
    CountingName.calls = 0
    model.load(path)
    model.load_state_dict(model.state_dict())
    return CountingName.calls


def test_loading_touches_each_name_a_constant_number_of_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """load() and load_state_dict() hash or compare each parameter name a few times, however
    many there are (the quadratic load looked every key up in a list of all names)."""
    small = name_operations(100, tmp_path, monkeypatch)
    large = name_operations(800, tmp_path, monkeypatch)
    n_small, n_large = 100 * 3 + 101, 800 * 3 + 801  # MLP(2, [h, 1]) has 3h + h + 1 parameters
    assert (small <= 16 * n_small, large <= 16 * n_large) == (True, True), (small, large)


def test_a_41k_parameter_net_round_trips(tmp_path: Path) -> None:
    """The issue's MLP(2, [200, 200, 1]) (41,001 parameters) saves and loads bit for bit."""
    random.seed(0)
    model = MLP(2, [200, 200, 1])
    model.save(tmp_path / "big.json")
    random.seed(1)
    again = MLP(2, [200, 200, 1])
    again.load(tmp_path / "big.json")
    assert (len(numbers(again)), numbers(again)) == (41001, numbers(model))


# --- integrity: a checksum ---


def test_every_single_bit_flip_is_refused_or_harmless(tmp_path: Path) -> None:
    """Each of the file's bits flipped in turn: the load raises CheckpointError and changes
    nothing, or gives exactly the saved weights and optimizer state."""
    model, opt = trained("sgd", (2, 1))
    path = tmp_path / "m.json"
    model.save(path, optimizer=opt)
    good = path.read_bytes()
    saved = snapshot(model, opt)
    target, target_opt = fresh("sgd", (2, 1))
    before = snapshot(target, target_opt)
    outcomes = {"refused": 0, "same": 0}
    wrong = []
    fd = os.open(path, os.O_WRONLY)  # flip in place: rewriting the file each time is slow
    try:
        for i in range(len(good) * 8):
            os.pwrite(fd, bytes([good[i // 8] ^ (1 << (i % 8))]), i // 8)
            try:
                target.load(path, optimizer=target_opt)
            except CheckpointError:
                outcomes["refused"] += 1
                if snapshot(target, target_opt) != before:
                    wrong.append((i, "changed on a failed load"))
                continue
            finally:
                os.pwrite(fd, good[i // 8 : i // 8 + 1], i // 8)
            outcomes["same"] += 1
            if snapshot(target, target_opt) != saved:
                wrong.append((i, "loaded other numbers"))
            target, target_opt = fresh("sgd", (2, 1))
    finally:
        os.close(fd)
    assert wrong == []
    assert outcomes["refused"] > 0.9 * len(good) * 8


def test_an_edited_weight_fails_the_checksum(tmp_path: Path) -> None:
    """A weight changed in the file (still valid JSON) raises CheckpointError naming the
    checksum; the model keeps its weights."""
    model, _ = trained()
    path = tmp_path / "m.json"
    model.save(path)
    doc = json.loads(path.read_text())
    name = next(iter(doc["state"]))
    doc["state"][name] += 1.0
    path.write_text(json.dumps(doc))
    target, _ = fresh()
    before = numbers(target)
    with pytest.raises(CheckpointError, match="checksum does not match"):
        target.load(path)
    assert numbers(target) == before


def test_a_version_2_file_without_checksum_is_refused(tmp_path: Path) -> None:
    """A current checkpoint whose checksum was removed is refused, not loaded unchecked."""
    model, _ = trained()
    path = tmp_path / "m.json"
    model.save(path)
    doc = json.loads(path.read_text())
    del doc["checksum"]
    path.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="has no checksum"):
        fresh()[0].load(path)


def test_version_1_files_without_checksum_still_load(tmp_path: Path) -> None:
    """A checkpoint written before checksums (version 1, indented) loads its weights and state."""
    model, opt = trained()
    doc = {
        "format": "micrograd.nn",
        "version": 1,
        "model": repr(model),
        "config": model.config(),
        "state": model.state_dict(),
        "optimizer": opt.state_dict(),
        "metadata": {"step": 2},
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc, indent=1))
    target, target_opt = fresh()
    assert target.load(path, optimizer=target_opt) == {"step": 2}
    assert snapshot(target, target_opt) == snapshot(model, opt)


def test_read_checkpoint_then_load_checkpoint_reads_the_file_once(tmp_path: Path) -> None:
    """read_checkpoint() verifies a file; load_checkpoint() loads that document into a model."""
    model, opt = trained()
    model.save(tmp_path / "m.json", optimizer=opt, metadata={"step": 2})
    doc = read_checkpoint(tmp_path / "m.json")
    target, target_opt = fresh()
    assert target.load_checkpoint(doc, optimizer=target_opt) == {"step": 2}
    assert snapshot(target, target_opt) == snapshot(model, opt)


# --- a failed load changes nothing ---


def test_huge_int_in_an_adam_buffer_changes_nothing(tmp_path: Path) -> None:
    """The issue's example: 10**400 in exp_avg is a CheckpointError (not OverflowError), and
    the model, lr and step_count stay as they were."""
    model, opt = trained("adam")
    doc = json.loads(nn._canonical(_saved_doc(model, opt, tmp_path)))
    doc["optimizer"]["buffers"]["exp_avg"][1] = 10**400
    (tmp_path / "bad.json").write_text(signed(doc))
    target, target_opt = fresh("adam")
    before = snapshot(target, target_opt)
    with pytest.raises(CheckpointError, match=r"exp_avg\[1\] must be a real number"):
        target.load(tmp_path / "bad.json", optimizer=target_opt)
    assert (snapshot(target, target_opt), target_opt.lr, target_opt.step_count) == (
        before,
        0.3,
        0,
    )


def _saved_doc(model: MLP, opt: Optimizer, folder: Path) -> dict[str, Any]:
    """The document ``save`` writes for a model and its optimizer."""
    model.save(folder / "saved.json", optimizer=opt, metadata={"step": 2})
    doc: dict[str, Any] = json.loads((folder / "saved.json").read_text())
    del doc["checksum"]
    return doc


def _leaves(doc: Any, where: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON document: each dict key's and list item's path."""
    yield where
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _leaves(value, (*where, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _leaves(value, (*where, i))


def _deep(depth: int) -> Any:
    """A list nested ``depth`` deep."""
    out: Any = []
    for _ in range(depth):
        out = [out]
    return out


BAD_VALUES = [
    10**400,
    -(10**400),
    2**63,
    "x",
    None,
    [],
    {},
    True,
    -5,
    -1.0,
    0,
    math.nan,
    math.inf,
    -math.inf,
    [5, 5],
    [0.5],
    _deep(200),
]


def _replaced(doc: Any, where: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``doc`` with the item at ``where`` replaced by ``value`` (or deleted if None
    and ``where`` names a dict key)."""
    if not where:
        return value
    copy: Any = dict(doc) if isinstance(doc, dict) else list(doc)
    copy[where[0]] = _replaced(doc[where[0]], where[1:], value)
    return copy


@pytest.fixture(scope="module")
def adam_doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A saved Adam checkpoint's document (checksum removed)."""
    model, opt = trained("adam")
    return _saved_doc(model, opt, tmp_path_factory.mktemp("adam"))


@given(data=st.data())
def test_any_corruption_either_loads_what_it_says_or_changes_nothing(
    data: st.DataObject, adam_doc: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A value anywhere in a (re-signed) checkpoint replaced by a hostile one: the load raises
    CheckpointError and leaves model and optimizer as they were, or loads exactly that value."""
    places = list(_leaves(adam_doc))
    where = data.draw(st.sampled_from(places))
    value = data.draw(st.sampled_from(BAD_VALUES))
    doc = _replaced(adam_doc, where, value)
    path = tmp_path_factory.mktemp("c") / "m.json"
    path.write_text(signed(doc) if isinstance(doc, dict) else json.dumps(doc))
    target, target_opt = fresh("adam")
    before = snapshot(target, target_opt)
    try:
        target.load(path, optimizer=target_opt)
    except CheckpointError:
        assert snapshot(target, target_opt) == before
        return
    loaded = json.loads(json.dumps(doc))
    assert [p.data for p in target.parameters()] == [
        float(loaded["state"][name]) for name, _ in target.named_parameters()
    ]
    state = target_opt.state_dict()
    assert (state["step_count"], state["buffers"]) == (
        loaded["optimizer"]["step_count"],
        {k: [float(x) for x in v] for k, v in loaded["optimizer"]["buffers"].items()},
    )


# --- settings are validated on load, by the constructors' own rules ---


@pytest.mark.parametrize(
    ("kind", "setting", "value"),
    [
        ("sgd", "lr", -5),
        ("sgd", "lr", math.nan),
        ("sgd", "lr", math.inf),
        ("adam", "betas", [5, 5]),
        ("adam", "betas", [0.9, 1.0]),
        ("adam", "eps", -1e-8),
        ("adamw", "weight_decay", -0.01),
        ("sgd", "momentum", -0.5),
        ("sgd", "weight_decay", -1.0),
        ("sgd", "lr", 10**400),
    ],
)
def test_invalid_saved_settings_are_refused_by_name(
    tmp_path: Path, kind: str, setting: str, value: Any
) -> None:
    """A saved setting the constructor refuses is a CheckpointError naming the setting; the
    optimizer keeps its settings and the model its weights."""
    model, opt = trained(kind)
    doc = _saved_doc(model, opt, tmp_path)
    doc["optimizer"]["hyperparameters"][setting] = value
    (tmp_path / "bad.json").write_text(signed(doc))
    target, target_opt = fresh(kind)
    before = snapshot(target, target_opt)
    with pytest.raises(CheckpointError, match=setting) as caught:
        target.load(tmp_path / "bad.json", optimizer=target_opt)
    with pytest.raises(ValueError) as direct:
        OPTIMIZERS[kind](
            [Value(0.0)], **{setting: tuple(value) if isinstance(value, list) else value}
        )
    assert (str(direct.value) in str(caught.value), snapshot(target, target_opt)) == (True, before)


NUMBERS = st.sampled_from([-5, -1e-3, 0, 0.0, 1e-8, 0.5, 0.9, 0.999, 1, 1.0, 5, 1e30])
SPECIAL = st.sampled_from([math.nan, math.inf, -math.inf, 10**400])
SETTING_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "lr": NUMBERS | SPECIAL,
    "momentum": NUMBERS | SPECIAL,
    "dampening": NUMBERS | SPECIAL,
    "weight_decay": NUMBERS | SPECIAL,
    "eps": NUMBERS | SPECIAL,
    "nesterov": st.booleans(),
    "amsgrad": st.booleans(),
    "betas": st.lists(NUMBERS | SPECIAL, min_size=2, max_size=2),
}


@given(kind=st.sampled_from(sorted(OPTIMIZERS)), data=st.data())
def test_load_accepts_exactly_the_settings_the_constructor_accepts(
    kind: str, data: st.DataObject
) -> None:
    """For generated settings, load_state_dict refuses (ValueError, state unchanged) exactly
    those the constructor refuses, and otherwise stores what the constructor stores."""
    cls = OPTIMIZERS[kind]
    params = [Value(1.0), Value(-2.0)]
    opt = cls(params)
    state = opt.state_dict()
    settings = {key: data.draw(SETTING_VALUES[key], label=key) for key in state["hyperparameters"]}
    state["hyperparameters"] = settings
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}
    try:
        built: Optimizer | None = cls([Value(0.0)], **kwargs)
    except (ValueError, TypeError, OverflowError):
        built = None
    before = json.dumps(opt.state_dict())
    try:
        opt.load_state_dict(state)
    except ValueError:
        assert (built, json.dumps(opt.state_dict())) == (None, before)
        return
    assert built is not None
    assert opt.hyperparameters() == built.hyperparameters()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(step_count=-1), "step_count must be an integer"),
        (lambda s: s.update(step_count=2**63), "step_count must be an integer"),
        (lambda s: s.update(step_count=10**400), "step_count must be an integer"),
        (lambda s: s["buffers"]["exp_avg_sq"].__setitem__(0, -1.0), r"exp_avg_sq\[0\] must be"),
        (lambda s: s["buffers"]["exp_avg"].__setitem__(0, None), r"exp_avg\[0\] must be"),
        (lambda s: s["buffers"]["exp_avg"].__setitem__(0, 10**400), r"exp_avg\[0\] must be"),
        (lambda s: s["hyperparameters"].update(amsgrad="yes"), "amsgrad"),
        (lambda s: s.update(n_params=True), "parameters"),
    ],
)
def test_bad_adam_state_is_refused_before_anything_changes(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    """Step counts outside [0, 2**63), negative second moments, missing or huge buffer items
    raise ValueError naming the item; the optimizer is unchanged."""
    _, opt = trained("adam")
    state = opt.state_dict()
    change(state)
    before = json.dumps(opt.state_dict())
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(state)
    assert json.dumps(opt.state_dict()) == before


def test_sgd_loads_a_momentum_buffer_not_yet_started() -> None:
    """SGD's momentum buffer may hold None (before its first step); Adam's buffers may not."""
    opt = SGD([Value(1.0)], lr=0.1, momentum=0.9)
    other = SGD([Value(2.0)], lr=0.1, momentum=0.9)
    other.load_state_dict(opt.state_dict())
    assert other.momentum_buffer == [None]


# --- micrograd train --resume of hostile files: one line, exit 2 ---


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-step Adam run of micrograd train (its model.json is the checkpoint)."""
    out = tmp_path_factory.mktemp("run")
    options = ["--steps", "1", "--optimizer", "adam", "--layers", "4"]
    code = main(["train", "--out", str(out), *options, "--no-plots", "--no-progress"])
    assert code == 0
    return out


def _hostile_files(run_folder: Path) -> dict[str, bytes]:
    """File contents that once gave a traceback (or an endless read) on --resume."""
    text = (run_folder / "model.json").read_text()
    doc = json.loads(text)
    del doc["checksum"]

    def edited(change: Callable[[dict[str, Any]], None]) -> str:
        copy = json.loads(json.dumps(doc))
        change(copy)
        return signed(copy)

    first = next(iter(doc["state"]))
    texts = {
        "nested": "[" * 100_000 + "]" * 100_000,
        "nested in metadata": text[:-1] + ',"deep":' + "[" * 100_000 + "]" * 100_000 + "}",
        "5000 digits": '{"format": "micrograd.nn", "version": 2, "x": ' + "9" * 5000 + "}",
        "1e400": text.replace(f'"{first}":', f'"{first}":1e400,"was":', 1),
        "10**400 weight": edited(lambda d: d["state"].update({first: 10**400})),
        "10**400 in Adam": edited(
            lambda d: d["optimizer"]["buffers"]["exp_avg"].__setitem__(0, 10**400)
        ),
        "lr=-5": edited(lambda d: d["optimizer"]["hyperparameters"].update(lr=-5)),
        "betas=[5,5]": edited(lambda d: d["optimizer"]["hyperparameters"].update(betas=[5, 5])),
        "step_count 10**400": edited(lambda d: d["optimizer"].update(step_count=10**400)),
        "step 10**400": edited(lambda d: d["metadata"].update(step=10**400)),
        "step 'x'": edited(lambda d: d["metadata"].update(step="x")),
        "samples 10**400": edited(lambda d: d["metadata"]["settings"].update(samples=10**400)),
        "layers [10**400]": edited(lambda d: d["metadata"]["settings"].update(layers=[10**400])),
        "metadata a list": edited(lambda d: d.update(metadata=[1])),
        "optimizer a list": edited(lambda d: d.update(optimizer=[1])),
        "a flipped bit": text.replace('"state":{"', '"state":{"x', 1),
    }
    return {**{k: v.encode() for k, v in texts.items()}, "binary": b"{\xff\xfe\x00"}


def test_resume_of_hostile_files_is_one_line_and_status_2(
    run_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Huge numbers, JSON nested 100,000 deep, bad settings or a damaged file on --resume: one
    error line, exit status 2, no traceback."""
    results = {}
    for name, content in _hostile_files(run_folder).items():
        folder = tmp_path / "".join(c if c.isalnum() else "_" for c in name)
        folder.mkdir()
        (folder / "model.json").write_bytes(content)
        code = main(["train", "--resume", str(folder / "model.json"), "--steps", "3", "--no-plots"])
        _, err = capsys.readouterr()
        lines = err.strip().splitlines()
        results[name] = (
            code,
            len(lines),
            lines[-1].startswith("micrograd train: error: "),
        )
    assert results == {name: (2, 1, True) for name in results}


def test_resume_from_dev_zero_stops_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    """--resume /dev/zero (endless) is one line and exit 2, after reading one small piece."""
    code = main(["train", "--resume", "/dev/zero", "--no-plots"])
    err = capsys.readouterr().err
    assert (code, err.strip()) == (
        2,
        "micrograd train: error: cannot resume: /dev/zero is not a micrograd checkpoint "
        "(not a JSON object)",
    )


def test_a_file_over_the_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file larger than MAX_CHECKPOINT_BYTES is a CheckpointError naming the limit."""
    model, _ = trained()
    model.save(tmp_path / "m.json")
    monkeypatch.setattr(nn, "MAX_CHECKPOINT_BYTES", 100)
    with pytest.raises(CheckpointError, match="MAX_CHECKPOINT_BYTES = 100"):
        read_checkpoint(tmp_path / "m.json")


def test_an_endless_pipe_is_read_only_up_to_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pipe that sends '{' and then spaces without end is refused at MAX_CHECKPOINT_BYTES."""
    monkeypatch.setattr(nn, "MAX_CHECKPOINT_BYTES", 1 << 20)
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    sent = [0]

    def feed() -> None:
        try:
            with open(fifo, "wb") as f:
                f.write(b"{")
                while sent[0] < 64 << 20:
                    f.write(b" " * (1 << 16))
                    sent[0] += 1 << 16
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        with pytest.raises(CheckpointError, match="more than MAX_CHECKPOINT_BYTES"):
            read_checkpoint(fifo)
    finally:
        writer.join()
    assert sent[0] < 64 << 20


# --- kill -9 during save, temporary files, symlinks, failed writes ---


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path: Path) -> None:
    """A save removes the temporary files of the same target left by dead processes, and keeps
    those of live writers and of other targets."""
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(dead.stdout)
    live_pid = os.getppid()
    names = [
        f".m.json.{dead_pid}.0a1b2c3d.tmp",
        f".m.json.{dead_pid}.ffffffff.tmp",
        f".m.json.{live_pid}.12345678.tmp",
        f".other.json.{dead_pid}.0a1b2c3d.tmp",
    ]
    for name in names:
        (tmp_path / name).write_text("{half a checkpo")
    MLP(2, [1]).save(tmp_path / "m.json")
    assert temporaries(tmp_path) == sorted(names[2:])


# A child process that saves ever-different weights to argv[1] until it is killed; it says
# "saving" once its first save is on disk.
SAVE_FOREVER = r"""
import sys
from micrograd.nn import MLP
model = MLP(2, [40, 40, 1])
parameters = model.parameters()
k = 0
while True:
    k += 1
    for p in parameters:
        p.data = float(k)
    model.save(sys.argv[1])
    if k == 1:
        print("saving", flush=True)
"""


def test_kill_9_during_saves_never_breaks_the_file_nor_piles_up_temporaries(
    tmp_path: Path,
) -> None:
    """30 times: a child process saving in a loop is killed with SIGKILL at a random moment.
    After each kill the checkpoint loads (old or new, never half) and at most the dead child's
    one temporary file is left; the next save removes it."""
    path = tmp_path / "m.json"
    random.seed(0)
    model = MLP(2, [40, 40, 1])
    model.save(path)
    original = numbers(model)
    rng = random.Random(1)
    seen = []
    for _ in range(30):
        child = subprocess.Popen(
            [sys.executable, "-c", SAVE_FOREVER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None and child.stdout.readline() == "saving\n"
        time.sleep(rng.uniform(0.0, 0.15))
        child.kill()  # SIGKILL
        child.wait()
        child.stdout.close()
        model.load(path)  # a CheckpointError if the file were half written
        loaded = numbers(model)
        whole = loaded == original or len(set(loaded)) == 1  # the first save or one of the child's
        seen.append((whole, len(temporaries(tmp_path))))
    model.save(path)
    assert (all(whole and left <= 1 for whole, left in seen), temporaries(tmp_path)) == (
        True,
        [],
    ), seen


def test_parallel_saves_of_one_target_all_succeed(tmp_path: Path) -> None:
    """Four threads saving the same file at once: every save succeeds, the file loads, and no
    temporary file is left."""
    random.seed(0)
    models = [MLP(2, [8, 1]) for _ in range(4)]
    errors: list[BaseException] = []

    def save(m: MLP) -> None:
        try:
            for _ in range(10):
                m.save(tmp_path / "m.json")
        except BaseException as e:  # collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=save, args=(m,)) for m in models]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    loaded = MLP.from_file(tmp_path / "m.json")
    assert (errors, numbers(loaded) in [numbers(m) for m in models], temporaries(tmp_path)) == (
        [],
        True,
        [],
    )


def test_saving_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    """save() through a symlink writes the link's target; the link stays a link."""
    (tmp_path / "real").mkdir()
    (tmp_path / "links").mkdir()
    target = tmp_path / "real" / "model.json"
    link = tmp_path / "links" / "model.json"
    MLP(2, [1]).save(target)
    link.symlink_to(os.path.relpath(target, link.parent))
    model, _ = trained()
    model.save(link)
    assert (link.is_symlink(), numbers(MLP.from_file(target)), temporaries(tmp_path / "links")) == (
        True,
        numbers(model),
        [],
    )


def test_saving_through_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    """A symlink to a file not yet written stays a link; the file appears at its target."""
    link = tmp_path / "latest.json"
    link.symlink_to("run1.json")
    model, _ = trained()
    model.save(link)
    assert (link.is_symlink(), numbers(MLP.from_file(tmp_path / "run1.json"))) == (
        True,
        numbers(model),
    )


@pytest.mark.parametrize("failing", ["fsync", "replace", "open"])
def test_a_full_disk_leaves_the_old_file_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """ENOSPC while creating, syncing or renaming: OSError (errno ENOSPC) naming the file, the
    old checkpoint intact, no temporary file left."""
    path = tmp_path / "m.json"
    MLP(2, [3, 1]).save(path)
    original = path.read_bytes()

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, failing, full)
    model, _ = trained()
    with pytest.raises(OSError, match=f"cannot save {path}: No space left on device") as caught:
        model.save(path)
    monkeypatch.undo()
    assert (caught.value.errno, path.read_bytes(), temporaries(tmp_path)) == (
        errno.ENOSPC,
        original,
        [],
    )


def test_a_folder_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    """Saving under a path whose parent is a file raises NotADirectoryError naming the path."""
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(NotADirectoryError, match=r"cannot save .*file/m\.json"):
        MLP(2, [1]).save(tmp_path / "file" / "m.json")


# --- arguments ---


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metadata": "x"}, "metadata must be a dict"),
        ({"metadata": {3: 1}}, "keys must be strings"),
        ({"metadata": {"a": {1, 2}}}, r"metadata\['a'\] must be JSON data"),
        ({"metadata": {"a": [object()]}}, r"metadata\['a'\]\[0\] must be JSON data"),
        ({"optimizer": "sgd"}, "optimizer must be an optimizer"),
    ],
)
def test_save_refuses_what_json_would_not_give_back(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    """Metadata that is not JSON data with string keys, or a non-optimizer, is a TypeError (and
    nothing is written)."""
    with pytest.raises(TypeError, match=message):
        MLP(2, [1]).save(tmp_path / "m.json", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_adamw_round_trips_with_its_decay(tmp_path: Path) -> None:
    """AdamW's state (weight_decay included) loads into a fresh AdamW exactly."""
    random.seed(2)
    model = MLP(2, [3, 1])
    opt = AdamW(model.parameters(), lr=0.01, weight_decay=0.2)
    model.save(tmp_path / "m.json", optimizer=opt)
    target = MLP(2, [3, 1])
    target_opt = AdamW(target.parameters())
    target.load(tmp_path / "m.json", optimizer=target_opt)
    assert (target_opt.weight_decay, snapshot(target, target_opt)) == (0.2, snapshot(model, opt))


def test_adam_buffers_survive_a_save(tmp_path: Path) -> None:
    """Adam's moments and step count after two steps load back exactly."""
    model, opt = trained("adam")
    model.save(tmp_path / "m.json", optimizer=opt)
    target, target_opt = fresh("adam")
    target.load(tmp_path / "m.json", optimizer=target_opt)
    assert isinstance(target_opt, Adam)
    assert (target_opt.step_count, snapshot(target, target_opt)) == (2, snapshot(model, opt))
