"""Editable installs of zoo expose `zoo_tasks` and `zoo_cli` (the checkout's `tasks/` and `cli.py`).

A wheel copies them under those names (pyproject's force-include); an editable install instead
maps the names to the checkout with the `editables` import hook that hatchling already uses for
`zoo`, so the repository root never joins `sys.path` and a user's `tasks.py` cannot shadow ours.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

RENAMED = {"zoo_tasks": "tasks", "zoo_cli": "cli.py"}  # installed name -> path in the checkout


class RenamedModulesHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version != "editable":
            return
        from editables import EditableProject

        project = EditableProject("zoo_renamed", self.root)
        for name, path in RENAMED.items():
            project.map(name, Path(self.root) / path)
        folder = Path(tempfile.mkdtemp(prefix="zoo-editable-"))
        for filename, content in project.files():
            (folder / filename).write_text(content)
            build_data["force_include_editable"][str(folder / filename)] = filename
