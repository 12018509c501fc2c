"""Selection: which samples go into a training set.

- ``steps/``: the pure algorithms a recipe chains, over arrays indexed by position (rank: score rules; diversity:
  k-center, facility location, DEITA; dedup: exact and near copies; filter: signals and review status).
- ``recipe.py``: the recipe schema (``STEPS``), parsing and checking YAML, the hash, the presets.
- ``engine.py``: runs a recipe's steps on in-memory arrays; never sees the store.
- ``workspace.py``: ``run_selection`` against a workspace (read once, run the engine, save once), budgets, the
  label shares a selection changes, export.
- ``mixture.py``: the mixture planner behind the Balance page (how much of each task label).
"""
