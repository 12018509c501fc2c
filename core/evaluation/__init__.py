"""Evaluating a selection by fine-tuning (issue #13): does the candidate train a better model than random data of
its size?

    config.py      EvaluationConfig: the candidate (a saved selection or a recipe), K random runs, the held-out
                   share, eval files, the base model and the LoRA settings
    plan.py        the plan, stored before any training: the held-out split (drawn first), the candidate, the random
                   subsets (seeds recorded), every training subset checked for copies of the eval data
    holdout.py     the split by whole groups of exact and near copies; copies between training and eval data
    training.py    one run: a LoRA adapter trained by TRL's SFTTrainer on Winnow's own export; held-out losses on
                   the assistant tokens
    runner.py      run_evaluation: plan or resume, then train and score each missing run, storing each as it ends
    eval_files.py  test sets in any import format, read and never imported
    compare.py     the paired bootstrap over eval items and the spread across seeds
    report.py      the results as a lead reads them, the CLI's JSON, manifest entries, evaluations side by side

The workspace keeps it all (``core.store.evaluations``); the adapters live beside the workspace file.
"""
