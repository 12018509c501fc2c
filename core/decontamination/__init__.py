"""Decontamination: training samples checked against test sets ("eval sets") registered in the workspace.

    tokens.py      texts as token ids (CJK by character, other scripts by word) and hashes of their n-token windows
    index.py       the eval index: n-gram overlap (default 13) and near copies (shingle Jaccard, prefix filter)
    workspace.py   registering an eval set from a file; what the ``decontam`` scorer found

The scorer is ``core.scoring.decontam``; the selection step ``drop_contaminated`` drops what it flags.
"""
