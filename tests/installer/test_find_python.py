"""installer/find_python.sh: which interpreter the installer builds the environment with.

The 3.11 path runs the real interpreter of this checkout's environment. The other versions
are stand-ins (shell scripts that run this same interpreter with ``sys.version_info`` set to
the version they pretend to be), because a machine rarely has every Python: they test the
choice, not the interpreters.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "installer" / "find_python.sh"


def fake_python(bindir: Path, name: str, version: tuple[int, int]) -> Path:
    path = bindir / name
    path.write_text(
        "#!/bin/sh\n"
        f"# stands in for Python {version[0]}.{version[1]}\n"
        'code="$2"; shift 2\n'
        f'exec "{sys.executable}" -c "import sys; sys.version_info = ({version[0]}, {version[1]}, 0, '
        "'final', 0); exec(sys.argv.pop(1))\" \"$code\" \"$@\"\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def real_python311(bindir: Path) -> Path:
    if sys.version_info[:2] != (3, 11):
        pytest.fail(f"the 3.11 path needs this suite on Python 3.11, it runs on {sys.version}")
    path = bindir / "python3.11"
    path.symlink_to(sys.executable)
    return path


def find(bindir: Path) -> subprocess.CompletedProcess[str]:
    # PATH holds only the stand-ins (and /bin for `command`), never the machine's own Pythons.
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}
    for name in ("python3", "python3.11", "python3.12", "python3.13"):
        for d in ("/usr/bin", "/bin"):
            if Path(d, name).exists() and not (bindir / name).exists():
                # Shadow the machine's interpreter so the test sees only what it set up.
                (bindir / name).write_text("#!/bin/sh\nexit 127\n")
                (bindir / name).chmod(0o755)
    return subprocess.run(["bash", "-c", f'. "{SCRIPT}"; find_python'], env=env,
                          capture_output=True, text=True, timeout=60)


def test_python_311_is_chosen_and_is_the_real_interpreter(tmp_path):
    py = real_python311(tmp_path)
    fake_python(tmp_path, "python3", (3, 13))
    r = find(tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(py)
    out = subprocess.run([r.stdout.strip(), "-c", "import sys; print(sys.version_info[:2])"],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "(3, 11)"


@pytest.mark.parametrize("version", [(3, 12), (3, 13)])
def test_the_system_python3_of_ubuntu_24_04_and_debian_13_is_accepted(tmp_path, version):
    py = fake_python(tmp_path, "python3", version)
    r = find(tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(py)


def test_a_versioned_python_is_found_when_python3_is_too_new(tmp_path):
    fake_python(tmp_path, "python3", (3, 14))
    py = fake_python(tmp_path, "python3.12", (3, 12))
    r = find(tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(py)


@pytest.mark.parametrize("version", [(3, 10), (3, 14)])
def test_a_python_outside_the_range_is_refused_in_one_line_naming_it(tmp_path, version):
    fake_python(tmp_path, "python3", version)
    r = find(tmp_path)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.count("\n") == 1
    assert ">= 3.11 and < 3.14" in r.stderr and f"python3 ({version[0]}.{version[1]})" in r.stderr


def test_the_range_matches_requires_python_in_pyproject():
    import tomllib
    spec = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    text = SCRIPT.read_text()
    lo, hi = (part.strip().lstrip("<>=") for part in spec.split(","))
    assert f'PY_MIN="{lo}"' in text and f'PY_MAX_EXCL="{hi}"' in text, spec
