"""Evaluating a selection by fine-tuning (issue #13), built up in steps.

Here now: ``holdout.py`` draws the held-out split of the pool before any training subset, never splitting a group of
exact or near copies, and checks that training and evaluation data share no copy; ``compare.py`` turns per-sample
held-out losses into the comparison a lead reads (candidate minus random, with a paired bootstrap interval and the
spread across seeds). Training (TRL's SFTTrainer with peft LoRA, fed Winnow's own export) comes next.
"""
