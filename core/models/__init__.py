"""Where models come from: the bundled defaults, Hugging Face ids and local paths; device, dtype and caches.

Imports flow one way, from the top of this list to the bottom:

- ``access.py``: what spans every kind of model: which ones this server may load, and forgetting every loaded one.
- ``language.py``: language models (the bundled SmolLM2 for IFD, any causal LM) and reward models, and their cache.
- ``embedders.py``: sentence embedders by name (the bundled ones, any sentence-transformers model), and their cache.
- ``sources.py``: whether a spec is a local path or a Hugging Face id, and the message when it cannot be loaded.
- ``device.py``: the torch device and dtype to use.
"""
