"""Workspace settings and the facts other modules keep, in the ``meta`` table: ``markdown_images`` and the keys of
``FACT_KEYS``. The other meta keys belong to their concern's module: ``schema_version`` to ``base.py``,
``first_admin`` to ``accounts.py``, ``current_map`` to ``maps.py``, ``taxonomy`` to ``labels.py``."""

from __future__ import annotations


class WorkspaceMeta:
    """Settings a lead changes for everyone (audited), and facts other modules keep in the workspace."""

    def markdown_images(self) -> bool:
        """Whether Review shows the images that Markdown in the samples points to (False, the default: shown as links,
        so reviewers' browsers fetch nothing from the hosts the imported text names; see ``core.markdown``)."""
        return self._meta(self.cursor(), "markdown_images") == "on"

    def set_markdown_images(self, on: bool, *, user: str) -> None:
        """Show (or stop showing) remote images in Review, for everyone in this workspace. Leads and admins; audited."""

        def body(cur):
            self.authorize(user, "settings", cur=cur)
            cur.execute("INSERT OR REPLACE INTO meta VALUES ('markdown_images', ?)", ["on" if on else "off"])
            self._log_in(cur, "settings", user, None, {"markdown_images": bool(on)})

        self._retrying(body)

    # Keys of meta that belong to modules outside the store (each module is the only reader and writer of its own).
    FACT_KEYS = ("demo_preparation",)

    def fact(self, key: str) -> str | None:
        """A value another module keeps in the workspace (one of ``FACT_KEYS``), or None when it was never set."""
        if key not in self.FACT_KEYS:
            raise ValueError(f"unknown fact {key!r}; add it to Store.FACT_KEYS")
        return self._meta(self.cursor(), key)

    def set_fact(self, key: str, value: str | None) -> None:
        """Keep ``value`` under ``key`` (one of ``FACT_KEYS``); None removes it."""
        if key not in self.FACT_KEYS:
            raise ValueError(f"unknown fact {key!r}; add it to Store.FACT_KEYS")
        if value is None:
            self._retrying(lambda cur: cur.execute("DELETE FROM meta WHERE key = ?", [key]))
        else:
            self._retrying(lambda cur: cur.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value]))
