"""reassort-seal : le scellement de ce qui s'exécute, à l'ouverture et pendant le scrutin.

Construit le manifeste de tout ce qui décide du comportement du service pour une étape : code
des fonctions et de leur couche, configuration des fonctions (sans secret), pages servies,
réglages des tables (TTL, PITR), règles WAF et limites de débit, règles du service telles que
configurées. Affiche une empreinte unique (SHA-256) à inscrire au procès-verbal d'ouverture.

    reassort-seal sceller --etape prod --sortie sceau-prod.json
    reassort-seal verifier --etape prod --manifeste sceau-prod.json --empreinte <hex>
    reassort-seal sceller --local http://127.0.0.1:8000 --sortie sceau-local.json

Les commandes anglaises équivalentes sont acceptées : seal, verify.
Code de sortie : 0 conforme, 1 différence détectée, 2 usage ou configuration impossible.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reassort.config import public_settings

from .french_cli import add_command, add_target_options, french_parser
from .supervision_target import Target, resolve

FORMAT = "reassort-seal/1"
ROOT = Path(__file__).resolve().parent.parent
SKIPPED_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache"}
# Settings that are secrets, and environment names that look like one: never in a manifest.
SECRET_NAME = re.compile(r"(?i)(LOCAL_SECRETS|PASSWORD|PRIVATE|TOKEN(?!_ALG))")

ALIASES = {"seal": "sceller", "verify": "verifier"}


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def manifest_digest(stage: str, entries: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({"format": FORMAT, "stage": stage, "entries": entries})).hexdigest()


sealed_settings = public_settings


def _files(folder: Path, prefix: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or SKIPPED_PARTS & set(path.parts) or path.suffix == ".pyc":
            continue
        out[f"{prefix}/{path.relative_to(folder).as_posix()}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _runtime_requirements(root: Path) -> dict[str, str]:
    """The layer locally: the runtime dependencies of pyproject.toml and their installed versions."""
    import tomllib
    from importlib import metadata

    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    out = {}
    for requirement in project.get("dependencies", []):
        name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return {"requirements": project.get("dependencies", []), "installed": out}


def _table_settings(dynamodb: Any, name: str) -> dict[str, Any]:
    table = dynamodb.describe_table(TableName=name)["Table"]
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    try:
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        pitr = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus", "DISABLED")
    except Exception:
        pitr = "absent"
    return {
        "key_schema": table.get("KeySchema"),
        "billing": table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"),
        "deletion_protection": table.get("DeletionProtectionEnabled", False),
        "ttl_attribute": ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") == "ENABLED" else None,
        "point_in_time_recovery": pitr,
    }


def _tables(dynamodb: Any, prefix: str) -> dict[str, Any]:
    names: list[str] = []
    for page in dynamodb.get_paginator("list_tables").paginate():
        names += [n for n in page.get("TableNames", []) if n.startswith(prefix)]
    return {f"tables/{name}": _table_settings(dynamodb, name) for name in sorted(names)}


def collect_local(target: Target, root: Path = ROOT) -> dict[str, Any]:
    entries: dict[str, Any] = {}
    entries.update(_files(root / "functions", "code"))
    entries["layer"] = _runtime_requirements(root)
    entries.update(_files(root / "web", "pages"))
    entries["settings"] = target.local_settings
    entries.update(_tables(target.client("dynamodb"), "reassort-"))
    entries["waf"] = "absent (pile locale)"
    entries["throttles"] = "absent (pile locale)"
    return entries


def _masked_environment(variables: dict[str, str]) -> dict[str, str]:
    return {k: ("<secret non scellé>" if SECRET_NAME.search(k) else v) for k, v in sorted(variables.items())}


def collect_aws(target: Target, pages_bucket: str | None = None) -> dict[str, Any]:
    """Read-only calls only (the seal role of infra/supervision.py allows exactly these)."""
    prefix = f"reassort-{target.stage}-"
    entries: dict[str, Any] = {}
    lam = target.client("lambda")
    environment: dict[str, str] = {}
    for page in lam.get_paginator("list_functions").paginate():
        for function in page.get("Functions", []):
            name = function["FunctionName"]
            if not name.startswith(prefix):
                continue
            config = lam.get_function_configuration(FunctionName=name)
            variables = config.get("Environment", {}).get("Variables", {})
            if name.endswith("-request-reassort"):
                environment = variables
            layers = {}
            for layer in config.get("Layers", []):
                layer_name, _, version = layer["Arn"].rpartition(":")
                content = lam.get_layer_version(LayerName=layer_name, VersionNumber=int(version)).get(
                    "Content", {}
                )
                layers[layer_name.rsplit(":", 1)[-1]] = content.get("CodeSha256")
            entries[f"functions/{name}"] = {
                "code_sha256": config.get("CodeSha256"),
                "layers_sha256": layers,
                "runtime": config.get("Runtime"),
                "handler": config.get("Handler"),
                "memory_mb": config.get("MemorySize"),
                "timeout_s": config.get("Timeout"),
                "architectures": config.get("Architectures"),
                "environment": _masked_environment(variables),
            }
    if pages_bucket is None:
        pages_bucket = _stack_output(target, "PagesBucketName")
    if pages_bucket:
        s3 = target.client("s3")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=pages_bucket):
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=pages_bucket, Key=obj["Key"])["Body"].read()
                entries[f"pages/{obj['Key']}"] = hashlib.sha256(body).hexdigest()
    else:
        entries["pages"] = "introuvable"
    if environment:
        from pydantic import ValidationError

        from reassort.config import Settings

        try:
            entries["settings"] = sealed_settings(
                Settings.from_env({k: v for k, v in environment.items() if not SECRET_NAME.search(k)})
            )
        except ValidationError as exc:  # the functions would refuse to start: seal what is there
            entries["settings"] = {"invalides": sorted(str(e["loc"]) for e in exc.errors())}
    else:
        entries["settings"] = "introuvable"
    entries.update(_tables(target.client("dynamodb"), prefix))
    entries["waf"] = _waf(target, f"{prefix}edge")
    entries["throttles"] = _throttles(target, f"{prefix}api")
    return entries


def _stack_output(target: Target, name: str) -> str | None:
    try:
        stacks = target.client("cloudformation").describe_stacks(StackName=f"reassort-{target.stage}-service")
    except Exception:
        return None
    for output in stacks["Stacks"][0].get("Outputs", []):
        if output.get("OutputKey") == name:
            return str(output["OutputValue"])
    return None


def _waf(target: Target, name: str) -> Any:
    waf = target.client("wafv2", region="us-east-1")
    try:
        acls = waf.list_web_acls(Scope="CLOUDFRONT").get("WebACLs", [])
        acl = next((a for a in acls if a["Name"] == name), None)
        if acl is None:
            return "introuvable"
        web_acl = waf.get_web_acl(Name=name, Scope="CLOUDFRONT", Id=acl["Id"])["WebACL"]
    except Exception:
        return "illisible"
    return {"default_action": web_acl.get("DefaultAction"), "rules": web_acl.get("Rules", [])}


def _throttles(target: Target, name: str) -> Any:
    api = target.client("apigatewayv2")
    try:
        found = next((a for a in api.get_apis().get("Items", []) if a["Name"] == name), None)
        if found is None:
            return "introuvable"
        stages = api.get_stages(ApiId=found["ApiId"]).get("Items", [])
    except Exception:
        return "illisible"
    return {
        s["StageName"]: {"default": s.get("DefaultRouteSettings", {}), "routes": s.get("RouteSettings", {})}
        for s in stages
    }


def build_manifest(target: Target, *, root: Path = ROOT, pages_bucket: str | None = None) -> dict[str, Any]:
    stage = "local" if target.is_local else target.stage
    entries = collect_local(target, root) if target.is_local else collect_aws(target, pages_bucket)
    entries = json.loads(canonical(entries))
    return {
        "format": FORMAT,
        "stage": stage,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "digest": manifest_digest(stage, entries),
        "entries": entries,
    }


def differences(sealed: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Every entry changed, added or removed, with the changed fields of a configuration."""
    before, after = sealed["entries"], current["entries"]
    out = []
    for name in sorted(set(before) | set(after)):
        if name not in after:
            out.append(f"supprimé : {name}")
        elif name not in before:
            out.append(f"ajouté : {name}")
        elif before[name] != after[name]:
            out.append(f"modifié : {name}" + _detail(before[name], after[name]))
    return out


def _detail(before: Any, after: Any, path: str = "") -> str:
    if isinstance(before, dict) and isinstance(after, dict):
        parts = []
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                inner = _detail(before.get(key), after.get(key), f"{path}{key}.")
                parts.append(inner.strip(" ()") if inner else f"{path}{key}")
        return f" ({', '.join(parts)})" if parts else ""
    if isinstance(before, str) and len(before) == 64 and isinstance(after, str):
        return ""  # a file's hash: the name says it all
    return f" ({path.rstrip('.')}: {before!r} → {after!r})" if path else f" ({before!r} → {after!r})"


def build_parser() -> argparse.ArgumentParser:
    parser = french_parser("reassort-seal", __doc__, usage="%(prog)s COMMANDE [options]")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMANDE", title="commandes", prog="reassort-seal"
    )
    for name, text in (
        ("sceller", "construire le manifeste et afficher son empreinte"),
        ("verifier", "relire l'étape et lister chaque différence avec le manifeste scellé"),
    ):
        sub = add_command(commands, name, text)
        add_target_options(sub)
        sub.add_argument("--racine", type=Path, default=ROOT, metavar="DOSSIER", help="dépôt (pile locale)")
        sub.add_argument("--compartiment-pages", metavar="NOM", help="compartiment S3 des pages (AWS)")
        if name == "sceller":
            sub.add_argument(
                "--sortie", type=Path, metavar="FICHIER", help="écrire le manifeste dans ce fichier"
            )
        else:
            sub.add_argument(
                "--manifeste", type=Path, required=True, metavar="FICHIER", help="manifeste scellé"
            )
            sub.add_argument(
                "--empreinte", metavar="HEX", help="empreinte inscrite au procès-verbal d'ouverture"
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw and raw[0] in ALIASES:
        raw[0] = ALIASES[raw[0]]
    parser = build_parser()
    args = parser.parse_args(raw)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        target = resolve(args.local, args.etape)
    except (OSError, ValueError) as exc:
        print(f"Cible injoignable : {exc}", file=sys.stderr)
        return 2
    if args.command == "sceller":
        manifest = build_manifest(target, root=args.racine, pages_bucket=args.compartiment_pages)
        if args.sortie:
            args.sortie.write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
        print(f"{len(manifest['entries'])} éléments scellés pour l'étape {manifest['stage']}.")
        print(f"Empreinte du sceau (à inscrire au procès-verbal) : {manifest['digest']}")
        return 0
    try:
        sealed = json.loads(args.manifeste.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"Manifeste illisible : {exc}", file=sys.stderr)
        return 2
    if manifest_digest(sealed.get("stage", ""), sealed.get("entries", {})) != sealed.get("digest"):
        print("Le manifeste a été modifié : son contenu ne correspond plus à son empreinte.")
        return 1
    if args.empreinte and args.empreinte.strip().lower() != sealed["digest"]:
        print(f"Ce manifeste ({sealed['digest']}) n'est pas celui du procès-verbal ({args.empreinte}).")
        return 1
    current = build_manifest(target, root=args.racine, pages_bucket=args.compartiment_pages)
    found = differences(sealed, current)
    if not found:
        print(f"CONFORME : l'étape correspond au sceau {sealed['digest']}.")
        return 0
    print(f"NON CONFORME : {len(found)} différence(s) avec le sceau {sealed['digest']} :")
    for line in found:
        print(f"  {line}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
