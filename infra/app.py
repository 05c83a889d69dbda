#!/usr/bin/env python3
"""CDK entry point.

cdk synth -c stage=prod            # one stage (cdk.json defaults to dev)
python app.py --all-stages         # every stage into infra/cdk.out/ (make synth)
cdk deploy -c stage=recette -c rehearsal=1 -c rehearsal_workers=8   # + the rehearsal stacks
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

INFRA_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(INFRA_DIR.parent))

from aws_cdk import App  # noqa: E402

from infra.reassort_app import add_nag_checks, add_stages  # noqa: E402
from infra.rehearsal_stack import add_rehearsal, truthy  # noqa: E402
from infra.stages import STAGE_NAMES  # noqa: E402
from infra.web_distribution import WEB_DIR  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--all-stages", action="store_true", help=f"synthesize {', '.join(STAGE_NAMES)}")
    args = parser.parse_args(argv)

    # The CDK CLI passes its output directory; run directly, write next to this file.
    app = App() if os.environ.get("CDK_OUTDIR") else App(outdir=str(INFRA_DIR / "cdk.out"))
    if args.all_stages:
        stage_names = list(STAGE_NAMES)
    else:
        stage = app.node.try_get_context("stage")
        if stage not in STAGE_NAMES:
            parser.error(f"choose a stage with -c stage=<{'|'.join(STAGE_NAMES)}> or use --all-stages")
        stage_names = [stage]
    if not (WEB_DIR / "vendor").is_dir():
        print(
            f"warning: {WEB_DIR / 'vendor'} is missing; run `make web-assets` before deploying",
            file=sys.stderr,
        )
    stages = add_stages(app, stage_names)
    if truthy(app.node.try_get_context("rehearsal")):
        # Load generators for an election-day rehearsal: only on an explicit flag, one stage.
        if len(stage_names) != 1:
            parser.error("-c rehearsal=1 needs one stage (-c stage=recette)")
        stage = stages[stage_names[0]]
        add_rehearsal(stage, stage.config, workers=int(app.node.try_get_context("rehearsal_workers") or 0))
    add_nag_checks(app)
    app.synth()


if __name__ == "__main__":
    main()
