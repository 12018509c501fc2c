"""Evaluating a selection by fine-tuning (issue #13), built up in steps.

Here now: ``holdout.py`` draws the held-out split of the pool before any training subset, never splitting a group of
exact or near copies, and checks that training and evaluation data share no copy; ``compare.py`` turns per-sample
held-out losses into the comparison a lead reads (candidate minus random, with a paired bootstrap interval and the
spread across seeds); ``training.py`` trains one run's LoRA adapter with TRL's SFTTrainer on Winnow's own export and
scores held-out samples on their assistant tokens; ``eval_files.py`` reads a test set in any format Winnow imports
(with a field mapping) without importing it. Still to come: the evaluation as a stored, resumable job over the
candidate and K random subsets, its CLI command and its page.
"""
