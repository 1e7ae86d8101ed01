"""The README as a new user pastes it: in a fresh copy of the repository, one bash session runs the
set-up command, then every bash block after the test command, in order, and each command exits 0.

Nothing is stubbed: the commands are the README's text, so the set-up really makes `.venv` and
installs into it from the package index, and the lessons command really installs the `lessons`
extra (PyTorch and JupyterLab) and starts JupyterLab. The test reads JupyterLab's address from its
log, asks it for the lessons, and shuts it down the way a user's Ctrl-C would. The only settings
it adds are Jupyter's, in their own folders: no browser, a token the test knows, and leave to
run as root (as CI does).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
BASH = [code for kind, code in FENCE.findall(README) if kind == "bash"]
LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
MARK = "::readme-command"
TOKEN = "readme-test-token"
ADDRESS = re.compile(r"http://(?:localhost|127\.0\.0\.1):(\d+)/lab\S*\?token=")
# Installing PyTorch and JupyterLab from the index takes minutes; this bounds a hung session.
SESSION_SECONDS = 1800

# The set-up's and the lessons' extras pin PyTorch, whose CPU wheel is for CPython 3.11 only.
pytestmark = pytest.mark.torch


def pasted_commands() -> list[str]:
    """The set-up command, then each line of every bash block after the test command."""
    lines = [BASH[0].strip()]
    for block in BASH[2:]:
        lines += [line for line in block.splitlines() if line.strip()]
    return lines


def copy_of_the_repository(to: Path) -> Path:
    """The files of the working tree a clone would have (committed or not), copied to ``to``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, to / name)
    return to


def users_environment(tmp: Path) -> dict[str, str]:
    """This process's environment as a new user's shell has it: no virtual environment active,
    none of the test run's paths, Jupyter's files in folders of its own."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    ours = (str(ROOT), sys.prefix)
    env["PATH"] = os.pathsep.join(
        entry for entry in env["PATH"].split(os.pathsep) if not entry.startswith(ours)
    )
    config = tmp / "jupyter-config"
    config.mkdir()
    server = {"open_browser": False, "allow_root": True}  # CI runs as root, as its machine does
    settings = {"ServerApp": server, "IdentityProvider": {"token": TOKEN}}
    (config / "jupyter_server_config.json").write_text(json.dumps(settings), encoding="utf-8")
    env["JUPYTER_CONFIG_DIR"] = str(config)
    env["JUPYTER_RUNTIME_DIR"] = str(tmp / "jupyter-runtime")
    return env


def ask(port: int, path: str, method: str = "GET") -> bytes:
    """One request to the JupyterLab server on ``port``, with the token; while the server is
    still starting (connection refused), asked again for up to a minute."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        headers={"Authorization": f"token {TOKEN}"},
    )
    for _ in range(60):
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                body: bytes = response.read()
                return body
        except urllib.error.URLError as e:
            if not isinstance(e.reason, ConnectionRefusedError):
                raise
            time.sleep(1)
    raise AssertionError(f"nothing listens on port {port}")


def test_the_commands_work_as_pasted_into_one_shell(tmp_path: Path) -> None:
    """Each README command, pasted in order into one bash session after the set-up, exits 0;
    JupyterLab, opened by the lessons command, serves the four lessons."""
    repo = copy_of_the_repository(tmp_path / "micrograd")
    commands = pasted_commands()
    assert commands[0].endswith("&& micrograd train")
    assert any(command.startswith("micrograd graph") for command in commands)
    assert commands[-1] == 'pip install -e ".[lessons]" && jupyter lab notebooks/'
    script = "".join(f'{command}\necho "{MARK} {k} $?"\n' for k, command in enumerate(commands))
    (tmp_path / "session.sh").write_text(script, encoding="utf-8")

    shell = subprocess.Popen(
        ["bash", "--noprofile", "--norc", str(tmp_path / "session.sh")],
        cwd=repo,
        env=users_environment(tmp_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: JupyterLab and all, ended below
    )
    log: list[str] = []
    port: list[int] = []
    serving = threading.Event()

    def read() -> None:
        assert shell.stdout is not None
        for line in shell.stdout:
            log.append(line)
            found = ADDRESS.search(line)
            if found and not port:
                port.append(int(found.group(1)))
                serving.set()
        serving.set()  # the session ended, serving or not

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        serving.wait(SESSION_SECONDS)
        assert port, "JupyterLab never said where it serves:\n" + "".join(log[-40:])
        listing = json.loads(ask(port[0], "/api/contents"))  # `jupyter lab notebooks/` serves it
        served = [item["name"] for item in listing["content"]]
        assert sorted(n for n in served if n.endswith(".ipynb")) == LESSONS  # and build.py
        assert b"JupyterLab" in ask(port[0], "/lab")
        ask(port[0], "/api/shutdown", method="POST")  # what Ctrl-C twice does
        shell.wait(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever is left, on failure
            os.killpg(shell.pid, signal.SIGKILL)
        shell.wait()
        reader.join(timeout=10)
    statuses = dict(re.findall(rf"^{MARK} (\d+) (\d+)$", "".join(log), re.MULTILINE))
    failed = {commands[int(k)]: code for k, code in statuses.items() if code != "0"}
    assert (len(statuses), failed) == (len(commands), {}), "".join(log[-60:])
