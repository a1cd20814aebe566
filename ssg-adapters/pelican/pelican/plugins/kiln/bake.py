"""The build side of kiln's Pelican plugin: bake comments in after each build.

On Pelican's ``finalized`` signal, once every page is written, this runs
``kiln bake [KILN_ARGS...] OUTPUT_PATH`` in the site's directory, so the
``kiln.toml`` there says where the comments come from. It runs after
``pelican --autoreload`` rebuilds too, so a dev server shows baked pages.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from .placeholders import site_dir

logger = logging.getLogger(__name__)


class KilnBakeError(RuntimeError):
    """kiln bake could not run or failed; raised when ``KILN_STRICT`` is on."""


def kiln_binary(settings: Mapping[str, Any]) -> str:
    """``$KILN_BIN``, else the ``KILN_BIN`` setting, else ``kiln`` on PATH.

    The environment wins, as it does for kiln's own configuration, so CI can
    point a site at a particular binary without editing its settings.
    """
    return os.environ.get("KILN_BIN") or settings.get("KILN_BIN") or "kiln"


def bake_command(settings: Mapping[str, Any], output_path: str) -> list[str]:
    """The command line the hook runs."""
    extra = settings.get("KILN_ARGS") or []
    if isinstance(extra, str):
        extra = shlex.split(extra)
    return [kiln_binary(settings), "bake", *map(str, extra), os.fspath(output_path)]


def on_finalized(pelican: Any) -> None:
    """The ``finalized`` receiver: bakes ``pelican.output_path`` unless ``KILN_BAKE`` is off."""
    settings = pelican.settings
    if not settings.get("KILN_BAKE", True):
        logger.debug("kiln: KILN_BAKE is off, not baking")
        return
    try:
        bake(settings, pelican.output_path)
    except KilnBakeError as error:
        if settings.get("KILN_STRICT", True):
            raise
        logger.warning("%s (the build goes on: KILN_STRICT is off)", error)


def bake(settings: Mapping[str, Any], output_path: str) -> None:
    """Runs kiln bake on ``output_path`` and logs its summary; KilnBakeError if it fails."""
    command = bake_command(settings, output_path)
    cwd = site_dir(settings)
    logger.debug("kiln: running %s in %s", _quoted(command), cwd)
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise KilnBakeError(
            f"kiln: cannot run {command[0]!r}: {error.strerror}. Install kiln, put it on PATH, "
            "or set KILN_BIN (environment or setting); KILN_BAKE = False turns the bake off"
        ) from None
    except OSError as error:
        raise KilnBakeError(f"kiln: cannot run {command[0]!r}: {error}") from error
    for line in done.stdout.splitlines():
        if line.strip():
            _say(f"kiln: {line}")
    if done.returncode != 0:
        detail = done.stderr.strip() or done.stdout.strip() or "no output"
        raise KilnBakeError(
            f"kiln: `{_quoted(command)}` (in {cwd}) failed with exit code {done.returncode}:\n{detail}"
        )
    for line in done.stderr.splitlines():
        if line.strip():
            logger.warning("kiln: %s", line)


def _say(line: str) -> None:
    """Prints a line where Pelican prints its own "Done: ..." summary."""
    try:
        from pelican.log import console  # Pelican >= 4.7 prints through rich
    except ImportError:
        print(line)
    else:
        console.print(line, markup=False, highlight=False)


def _quoted(command: Sequence[str]) -> str:
    return " ".join(shlex.quote(part) for part in command)
