"""The dependency layer, built on this machine by pip (no Docker): wheels for Lambda arm64."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tomllib
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = PROJECT_ROOT / "pyproject.toml"
# A tiny fixed source: the layer's content comes from pip, its identity from the hash below.
LAYER_SOURCE = Path(__file__).resolve().parent / "layer"

PYTHON_VERSION = "3.13"
PIP_PLATFORM_ARGS = (
    "--platform",
    "manylinux2014_aarch64",
    "--implementation",
    "cp",
    "--python-version",
    PYTHON_VERSION,
    "--only-binary=:all:",
)


def runtime_dependencies(pyproject: Path = PYPROJECT) -> list[str]:
    """The `[project].dependencies` of pyproject.toml: what the functions import at run time."""
    with pyproject.open("rb") as file:
        return list(tomllib.load(file)["project"]["dependencies"])


def pip_install_command(output_dir: str, requirements: list[str]) -> list[str]:
    # Layers for Python are unpacked under /opt; the runtime adds /opt/python to sys.path.
    target = str(Path(output_dir) / "python")
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        target,
        *PIP_PLATFORM_ARGS,
        *requirements,
    ]


@jsii.implements(ILocalBundling)
class PipLayerBundling:
    """Runs pip in the current interpreter to fill the layer directory."""

    def __init__(self, requirements: list[str]) -> None:
        self.requirements = requirements

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        subprocess.run(pip_install_command(output_dir, self.requirements), check=True)  # noqa: S603
        return True


def layer_asset_hash(requirements: list[str]) -> str:
    """Changes when a requirement or the target platform changes, not when the repository does."""
    identity = "\n".join([*PIP_PLATFORM_ARGS, *sorted(requirements)])
    return hashlib.sha256(identity.encode()).hexdigest()


def dependency_layer_code(requirements: list[str] | None = None) -> lambda_.Code:
    requirements = runtime_dependencies() if requirements is None else requirements
    return lambda_.Code.from_asset(
        str(LAYER_SOURCE),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=layer_asset_hash(requirements),
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds or raises.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
            local=PipLayerBundling(requirements),
            command=["false"],
        ),
    )


class DependencyLayer(Construct):
    """One layer holding every runtime dependency, shared by the three functions."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=dependency_layer_code(),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_13],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="Runtime dependencies of pyproject.toml, manylinux2014 aarch64 wheels",
        )
