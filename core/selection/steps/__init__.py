"""Selection steps: pure algorithms that pick samples, one module per kind of step.

Nothing here touches the workspace. Every function takes numpy arrays (or lists of texts) indexed by *position*
(0..n-1) and returns positions or boolean masks; the caller maps positions to sample ids.

Conventions:
    - ``emb`` is an (n, d) float32 array whose rows are L2-normalized sentence embeddings, so a dot product is a
      cosine similarity. Other dtypes are converted to float32.
    - Scores are "higher is better" unless a docstring says otherwise. NaN (or None) means "not scored": a step
      that ranks by a score leaves such samples out.
    - Ties are broken by the lower position, so every function is deterministic; the ones that draw at random take
      a ``seed`` for ``np.random.default_rng``.

Steps (each is one recipe step; ``core.selection.recipe.STEPS`` lists their parameters and defaults):

| step              | idea (paper)                                                    | function                    |
|-------------------|-----------------------------------------------------------------|-----------------------------|
| filter            | drop flawed samples by heuristic signals and review status      | filter.filter_mask          |
| dedup             | exact, text (MinHash) and embedding duplicates; the best stays  | dedup.find_duplicates       |
| ifd_top           | top x % by Instruction-Following Difficulty (Cherry LLM)        | rank.ifd_top                |
| superfilter       | the same rule on a small model's IFD (Superfiltering)           | rank.superfilter_top        |
| k_center          | coverage of the embedding space by greedy k-center (MoDS)       | diversity.k_center_greedy   |
| facility_location | representativeness by facility location (Superfiltering-D)      | diversity.facility_location |
| mods_quality      | reward-model score above a threshold (MoDS)                     | rank.mods_quality           |
| mods_necessity    | the seed plus what a seed-tuned model answers badly (MoDS)      | rank.mods_necessity         |
| deita             | by score, skipping samples too close to a kept one (DEITA)      | diversity.deita_filter      |
| stratified        | the same share from every quantile bin of a score               | rank.stratified             |
| mixture           | a count per label (e.g. per task), taken in the current order   | rank.mixture_take           |

``arrays`` holds the conversions every step shares.
"""
