"""The dependency layer is built by pip on this machine for Lambda's arm64 Python 3.13."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from aws_cdk import DockerImage

from infra.layer_bundling import (
    PipLayerBundling,
    layer_asset_hash,
    pip_install_command,
    runtime_dependencies,
)

pytestmark = pytest.mark.infra

ELF_MACHINE_AARCH64 = 183
# The compiled packages: a wheel for the wrong platform fails at import on Lambda.
NATIVE_PACKAGES = ("pydantic_core", "_argon2_cffi_bindings")


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
    return int.from_bytes(header[18:20], "little")


def test_given_pyproject_then_the_layer_installs_exactly_its_runtime_dependencies() -> None:
    requirements = runtime_dependencies()
    names = {r.split("[")[0].split(">")[0].split("<")[0].split("=")[0] for r in requirements}
    assert {"pydantic", "argon2-cffi", "aws-lambda-powertools", "boto3"} <= names
    assert not {"aws-cdk-lib", "pytest", "moto"} & names
    command = pip_install_command("/out", requirements)
    assert command[-len(requirements) :] == requirements
    assert command[command.index("--platform") :][:2] == ["--platform", "manylinux2014_aarch64"]
    assert "--only-binary=:all:" in command
    assert command[command.index("--target") + 1] == "/out/python"


def test_given_the_same_requirements_then_the_asset_hash_is_stable_and_follows_them() -> None:
    requirements = runtime_dependencies()
    assert layer_asset_hash(requirements) == layer_asset_hash(list(reversed(requirements)))
    assert layer_asset_hash(requirements) != layer_asset_hash([*requirements, "extra>=1"])


def test_given_real_local_bundling_then_the_layer_holds_aarch64_builds_of_the_native_packages(
    tmp_path: Path,
) -> None:
    # The two packages with compiled code, with the same platform flags as the layer (needs PyPI).
    native = [r for r in runtime_dependencies() if r.startswith(("pydantic", "argon2-cffi"))]
    try:
        PipLayerBundling(native).try_bundle(str(tmp_path), image=DockerImage.from_registry("unused"))
    except subprocess.CalledProcessError as error:  # pragma: no cover - depends on the network
        pytest.fail(f"pip could not fetch the wheels (PyPI needed): {error}")
    site = tmp_path / "python"
    for package in NATIVE_PACKAGES:
        libraries = list((site / package).glob("*.so"))
        assert libraries, f"no compiled module in {package}"
        for library in libraries:
            assert "x86_64" not in library.name
            assert elf_machine(library) == ELF_MACHINE_AARCH64
    assert list((site / "pydantic_core").glob("*cpython-313-aarch64-linux-gnu.so"))
