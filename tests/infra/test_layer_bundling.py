"""The dependency layer is the lock, installed by pip for Lambda's arm64 Python 3.13 (offline checks:
the lock itself is what `make synth` installs, hash by hash)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra.layer_bundling import (
    LOCK_FILE,
    layer_asset_hash,
    locked_versions,
    pip_install_command,
    runtime_dependencies,
)
from tools.lock_layer import problems

pytestmark = pytest.mark.infra

# The compiled packages: a wheel for the wrong platform fails at import on Lambda.
NATIVE_PACKAGES = ("pydantic-core", "argon2-cffi-bindings", "cffi")
LOCK_TEXT = LOCK_FILE.read_text(encoding="utf-8")


def _entries(lock_text: str) -> dict[str, tuple[str, list[str], str]]:
    """name -> (version, hashes, wheel file name) for each entry of the lock."""
    entries = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", lock_text.split("\n", 2)[2]):
        first, *rest = block.strip().splitlines()
        name, version = first.rstrip(" \\").split("==")
        hashes = [line.strip().removeprefix("--hash=sha256:") for line in rest if "--hash=" in line]
        wheels = [line.strip().removeprefix("# ") for line in rest if line.strip().startswith("# ")]
        entries[name] = (version, hashes, wheels[0] if wheels else "")
    return entries


def test_given_pyproject_then_the_lock_pins_every_runtime_dependency_and_nothing_from_dev() -> None:
    requirements = runtime_dependencies()
    names = {re.split(r"[\[<>=!~ ]", r, maxsplit=1)[0] for r in requirements}
    assert {"pydantic", "argon2-cffi", "aws-lambda-powertools", "boto3"} <= names
    assert problems(requirements, LOCK_TEXT) == []
    pins = locked_versions(LOCK_TEXT)
    assert not {"aws-cdk-lib", "pytest", "moto"} & set(pins)
    # No tracer extra: the X-Ray SDK is not shipped (the functions do not trace).
    assert not [r for r in requirements if "[tracer]" in r]
    assert "aws-xray-sdk" not in pins and "wrapt" not in pins


def test_given_the_lock_then_each_package_is_one_hashed_wheel_for_arm64_python_313() -> None:
    entries = _entries(LOCK_TEXT)
    assert len(entries) == len(locked_versions(LOCK_TEXT)) >= 15
    for name, (version, hashes, wheel) in entries.items():
        assert len(hashes) == 1 and re.fullmatch(r"[0-9a-f]{64}", hashes[0]), name
        assert wheel.endswith(".whl") and version in wheel, name
        if name in NATIVE_PACKAGES:
            assert "aarch64" in wheel and "x86_64" not in wheel, wheel
            assert re.search(r"-(cp313|cp3\d+-abi3|cp36-abi3|cp38-abi3)-", wheel), wheel


def test_given_the_lock_then_pip_installs_it_with_hashes_and_the_asset_hash_follows_it(
    tmp_path: Path,
) -> None:
    command = pip_install_command("/out")
    assert command[command.index("--requirement") + 1] == str(LOCK_FILE)
    assert "--require-hashes" in command and "--no-deps" in command
    assert command[command.index("--platform") :][:2] == ["--platform", "manylinux2014_aarch64"]
    assert "--only-binary=:all:" in command and "--no-compile" in command  # compiled by 3.13 after
    assert command[command.index("--target") + 1] == "/out/python"
    assert layer_asset_hash(LOCK_TEXT) == layer_asset_hash(LOCK_TEXT)
    assert layer_asset_hash(LOCK_TEXT) != layer_asset_hash(LOCK_TEXT.replace("boto3==", "boto3==0"))


def test_given_a_pyproject_the_lock_does_not_satisfy_then_the_check_names_it() -> None:
    assert problems(["boto3>=99"], LOCK_TEXT) == [
        f"boto3=={locked_versions(LOCK_TEXT)['boto3']} does not satisfy >=99"
    ]
    assert problems(["not-a-locked-package>=1"], LOCK_TEXT) == ["not-a-locked-package is not in the lock"]


def test_given_a_layer_directory_then_bytecode_is_compiled_by_the_runtime_python_as_unchecked_hash(
    tmp_path: Path,
) -> None:
    import sys

    from infra.layer_bundling import PYTHON_VERSION, bytecode_compiler, compile_bytecode

    # The runtime's Python when this machine has it (the layer build warns otherwise).
    compiler = bytecode_compiler()
    version = PYTHON_VERSION if compiler else f"{sys.version_info[0]}.{sys.version_info[1]}"
    module = tmp_path / "python" / "sample.py"
    module.parent.mkdir()
    module.write_text("VALUE = 1\n")

    compile_bytecode(module.parent, compiler or sys.executable)

    [compiled] = (module.parent / "__pycache__").glob("sample.*.pyc")
    assert compiled.name == f"sample.cpython-{version.replace('.', '')}.pyc"
    flags = int.from_bytes(compiled.read_bytes()[4:8], "little")
    assert flags == 0b01  # hash-based, not checked against the source (timestamps in a zip vary)


def test_given_the_code_asset_then_it_holds_the_sources_and_their_bytecode_without_local_caches(
    tmp_path: Path,
) -> None:
    import sys

    from aws_cdk import DockerImage

    from infra.layer_bundling import CompiledCodeBundling, bytecode_compiler
    from infra.service_functions import CODE_EXCLUDES

    source = tmp_path / "functions"
    (source / "pkg" / "__pycache__").mkdir(parents=True)
    (source / "pkg" / "__init__.py").write_text("")
    (source / "pkg" / "handler.py").write_text("def lambda_handler(event, context):\n    return {}\n")
    (source / "pkg" / "__pycache__" / "stale.cpython-311.pyc").write_bytes(b"stale")
    output = tmp_path / "asset"
    output.mkdir()
    compiler = bytecode_compiler() or sys.executable

    CompiledCodeBundling(source, CODE_EXCLUDES, compiler).try_bundle(
        str(output), image=DockerImage.from_registry("unused")
    )

    assert (output / "pkg" / "handler.py").is_file()
    compiled = sorted(p.name for p in (output / "pkg" / "__pycache__").iterdir())
    assert "stale.cpython-311.pyc" not in compiled
    assert len(compiled) == 2 and all(name.endswith(".pyc") for name in compiled)
