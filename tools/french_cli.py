"""Command lines in French for the electoral office's tools (seal, journal, figures): help,
usage errors (exit status 2, as argparse) and the choice of the stack to read."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, NoReturn


class FrenchHelpFormatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, prefix or "utilisation : ")


_ARGPARSE_FRENCH = (
    (re.compile(r"^the following arguments are required: (.*)$"), "arguments obligatoires manquants : {0}"),
    (re.compile(r"^unrecognized arguments: (.*)$"), "arguments inconnus : {0}"),
    (
        re.compile(r"^argument (.*?): invalid choice: (.*?) \(choose from (.*)\)$"),
        "argument {0} : choix {1} invalide (possibles : {2})",
    ),
    (re.compile(r"^argument (.*?): not allowed with argument (.*)$"), "argument {0} : incompatible avec {1}"),
    (re.compile(r"^argument (.*?): expected one argument$"), "argument {0} : une valeur attendue"),
    (re.compile(r"^argument (.*?): invalid (\w+) value: (.*)$"), "argument {0} : valeur {2} invalide"),
)


class FrenchArgumentParser(argparse.ArgumentParser):
    """argparse with its usage errors in French (exit status 2, as argparse)."""

    def error(self, message: str) -> NoReturn:
        for pattern, french in _ARGPARSE_FRENCH:
            match = pattern.match(message)
            if match:
                message = french.format(*match.groups())
                break
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog} : erreur : {message}\n")


def _french(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    for group in parser._action_groups:
        if group.title in {"options", "optional arguments"}:
            group.title = "options"
        elif group.title == "positional arguments":
            group.title = "arguments"
    for action in parser._actions:
        if action.dest == "help":
            action.help = "afficher cette aide et quitter"
    return parser


def french_parser(prog: str, description: str | None, usage: str | None = None) -> argparse.ArgumentParser:
    return _french(
        FrenchArgumentParser(
            prog=prog, description=description, formatter_class=FrenchHelpFormatter, usage=usage
        )
    )


def add_command(commands: Any, name: str, help: str) -> argparse.ArgumentParser:
    """One sub-command of `commands` (what ``add_subparsers`` returned), in French too."""
    return _french(commands.add_parser(name, help=help, formatter_class=FrenchHelpFormatter))


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """Which stack to read: the local one by its URL, or a deployed stage (tools.supervision_target)."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--local", metavar="URL", help="pile locale en cours (ex. http://127.0.0.1:8000)")
    where.add_argument("--etape", metavar="NOM", help="étape déployée dans AWS : dev, recette ou prod")
