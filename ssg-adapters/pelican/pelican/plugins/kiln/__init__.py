"""kiln's Pelican plugin: comments baked into the pages Pelican builds.

Installed with pip, it lives in the ``pelican.plugins`` namespace, so Pelican
4.5 and later load it by itself (or when ``PLUGINS`` lists ``"kiln"``). It
gives every template ``kiln_comments(article)``, ``kiln_count(article)`` and
``kiln_thread_id(article)``, and runs ``kiln bake`` on the output after each
build. See README.md for the settings.
"""

from __future__ import annotations

from typing import Any

from pelican import signals

from . import placeholders
from .bake import KilnBakeError, on_finalized

__all__ = ["KilnBakeError", "register"]


def add_template_functions(generator: Any) -> None:
    """The ``generator_init`` receiver: puts kiln's functions in the generator's Jinja globals."""
    env = getattr(generator, "env", None)
    if env is None:
        return
    settings = generator.settings
    env.globals.update(
        kiln_comments=lambda content: placeholders.comments(content, settings),
        kiln_count=lambda content: placeholders.count(content, settings),
        kiln_thread_id=lambda content: placeholders.thread_id(content, settings) or "",
    )


def register() -> None:
    """Called by Pelican when it loads the plugin."""
    signals.generator_init.connect(add_template_functions)
    signals.finalized.connect(on_finalized)
