"""Team work: who may do what, accounts and sign-in, assignments, reviews and annotations, agreement, adjudication,
a sample's history, and bulk decisions.

    roles.py         the roles and the actions each may take (imports nothing from core: the store reads it)
    accounts.py      accounts, argon2 passwords, sign-in sessions and the cookie's one-time handoff
    assignments.py   samples given out to annotators with overlap, taken back, and each annotator's progress
    reviews.py       a review: a change to the sample, or the reviewer's annotation of a shared one
    agreement.py     Cohen's and Fleiss' kappa between annotators
    adjudication.py  the queue of shared samples to settle, and settling them with one version or a merged one
    history.py       a sample's versions rebuilt from the audit log, and reverts
    diffs.py         how two versions differ: transcripts, unified diffs, word diffs for the log
    merges.py        three-way merges for the Review page's conflict panel
    bulk.py          accept, reject or tag many samples at once

Import from the defining module (``from core.team import accounts``); this package re-exports nothing.
"""
