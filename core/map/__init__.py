"""The Explore page's map: a 2-D projection of the embeddings, clusters with names, a drawable sample, its colours.

- ``projection``: PCA/UMAP to 2-D, and placing new points on a map already drawn.
- ``clusters``: k-means clusters of the embeddings and their names (class TF-IDF over English and Chinese words).
- ``sampling``: a cluster-stratified sample of points, so small clusters still show.
- ``colours``: one distinct colour per cluster.
- ``workspace``: the map of a workspace: read its embeddings, project, cluster, name, save, and read it back.

All but ``workspace`` are pure (arrays in, arrays out, deterministic for a seed) and import nothing from the store.
"""
