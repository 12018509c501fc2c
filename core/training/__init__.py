"""Export for trainers: training-ready files, packing, and (later) evaluation runs.

What a data lead needs before a fine-tuning run, from the samples of a workspace (a status filter or a saved
selection):

- every sample rendered with a tokenizer's chat template (the bundled SmolLM2's by default, or any HF id or folder),
  and its tokens counted, in total and per split; assistant tokens are the ones a trainer learns from;
- a truncation report at ``max_length``: samples over it, tokens and answer tokens lost (the cut-off tails, or the
  whole samples with ``over_length="drop"``), samples left with no answer token after the cut;
- packing as Llama 2 did it (samples joined to fill ``max_length``), with its efficiency, and optionally packed
  Parquet files: ``input_ids``, ``labels`` (-100 everywhere but assistant tokens), ``position_ids`` restarting at 0
  for each sample, and ``sample_ids``/``lengths`` marking the boundaries, so ``unpack_rows`` gives back each sample;
- a deterministic train/validation split, stratified by task label, in TRL's ``messages`` or conversational
  ``prompt``/``completion`` shape, with a LLaMA-Factory ``dataset_info.json`` and a manifest (recipe, scorers and
  models, counts per label and split, tokens, truncation, packing, tokenizer, advice on the fine-tuning method).

The rooms:

- ``chat_template``: loading the tokenizer; rendering conversations and finding the assistant tokens (the labels);
- ``packing``: best-fit decreasing packing, its efficiency, the packed Parquet files and ``unpack_rows``;
- ``split``: the deterministic train/validation split, stratified by task label;
- ``advice``: which fine-tuning method the training set's size points to;
- ``pipeline``: the options, the pass over the samples (render, count, check, truncate, split, stream the files),
  ``training_report`` and ``summary_lines``;
- ``export``: ``export_training``, the folder built beside its final name and swapped in;
- ``writing``: how every export's files are written (this package's and ``core.export``'s plain export): where an
  export may go, temporary files renamed into place, atomic JSON, digests, LLaMA-Factory's ``dataset_info`` entries.

Import from the defining module (``from core.training.export import export_training``): this file re-exports nothing.
"""
