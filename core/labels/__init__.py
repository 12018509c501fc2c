"""Task labels: the taxonomy and its edits (taxonomy.py), zero-shot and the classifier over embeddings
(classifier.py), explainable evidence rules (evidence.py) and bilingual examples (exemplars.py), suggestions with
their reasons (suggestions.py), a workspace's labels and their refresh (workspace.py), and what the Balance page
reads (balance.py)."""
