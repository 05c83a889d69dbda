"""`python -m local [--port 8000]`: the whole product on http://127.0.0.1:8000, nothing from AWS."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local", description="Local stack of the vote-code reissue"
    )
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--quiet", action="store_true", help="log warnings only")
    parser.add_argument(
        "--ready-file", type=Path, help="write the stack's URLs and demo roll there (JSON) once serving"
    )
    parser.add_argument(
        "--roll",
        type=Path,
        action="append",
        default=[],
        metavar="PATH.csv",
        help="also import this roll (import format, e.g. from tools.synthetic_roll); its electors "
        "log in with demo-<elector id> (repeatable)",
    )
    parser.add_argument(
        "--workers-per-function",
        type=int,
        default=int(os.environ.get("LOCAL_WORKERS_PER_FUNCTION", "2")),
        metavar="N",
        help="processus par fonction, comme autant d'environnements Lambda concurrents (défaut 2)",
    )
    provider = parser.add_argument_group(
        "OpenID provider",
        "log in with this provider instead of the FranceConnect emulator (docs/operations.md)",
    )
    for flag, help_text in (
        ("issuer", "issuer URL, e.g. https://fcp-low.sbx.dev-franceconnect.fr/api/v2"),
        ("client-id", "client id registered at the provider"),
        ("redirect-uri", "callback URL registered there (default: <base URL>/api/fc/callback)"),
        ("post-logout-redirect-uri", "default: <base URL>/api/fc/logout-return"),
        ("id-token-alg", "ES256 (default) or RS256"),
    ):
        provider.add_argument(
            f"--fc-{flag}", help=help_text + "; the client secret comes from LOCAL_FC_CLIENT_SECRET"
        )
    args = parser.parse_args(argv)
    for flag in ("issuer", "client_id", "redirect_uri", "post_logout_redirect_uri", "id_token_alg"):
        value = getattr(args, f"fc_{flag}")
        if value:
            os.environ[f"LOCAL_FC_{flag.upper()}"] = value

    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    # One line per moto request drowns everything else.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    from local import web_assets

    web_assets.render_pages()  # the templates as they are now: an edited page shows on restart
    if not (web_assets.TARGET / web_assets.bundle_name()).is_file():
        print(
            "Attention : build/site/vendor/dsfr est absent, lancez `make web-assets` (pages sans style).",
            file=sys.stderr,
        )

    from local.dynamodb_engine import EngineUnavailable
    from local.stack import LocalStack

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    started = time.monotonic()
    try:
        stack = LocalStack(
            host=args.host, port=args.port, workers_per_function=args.workers_per_function
        ).start()
    except EngineUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"Impossible d'écouter sur {args.host}:{args.port} ({exc.strerror}) : "
            f"choisissez un autre port, par exemple `make dev PORT=8001`.",
            file=sys.stderr,
        )
        return 1
    for roll in args.roll:
        try:
            count = stack.add_roll(roll)
        except (OSError, ValueError, SystemExit) as exc:
            print(f"Rôle {roll} non importé : {exc}", file=sys.stderr)
            stack.stop()
            return 1
        print(f"Rôle {roll} : {count} électeurs importés (mot de passe demo-<identifiant>).", flush=True)
    print(
        f"\nRéassort du code de vote — pile locale prête en {time.monotonic() - started:.1f} s\n\n"
        f"  Application       {stack.base_url}/\n"
        f"  Connexion démo    {stack.base_url}/local/login\n"
        f"  Boîte d'envoi     {stack.base_url}/local/outbox\n"
        + (f"  FranceConnect     {stack.franceconnect_url} (émulateur)\n" if stack.franceconnect_url else "")
        + f"  DynamoDB local    {stack.dynamodb_url} (dynoxide)\n"
        + f"  moto (SES, SNS)   {stack.moto_url}\n\n"
        + ("" if args.quiet else f"Électeurs de démonstration :\n{stack.credentials_text()}\n\n")
        + "Ctrl-C pour arrêter.\n",
        flush=True,
    )

    if args.ready_file:
        args.ready_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(stack.summary(), ensure_ascii=False), encoding="utf-8")
        tmp.replace(args.ready_file)

    stop = threading.Event()
    # Explicit handlers: a shell may start background jobs with SIGINT ignored.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    print("\nArrêt de la pile locale…", flush=True)
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
