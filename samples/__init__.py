"""The guided tour's samples: one runnable script per idea, in reading order.

Each ``NN_name.py`` is a script (``python samples/01_leaf_and_ops.py [--out DIR]
[--fast]``) and exposes ``figures()``, the pictures it draws with their render options.
``python -m samples.regenerate`` redraws ``docs/img`` and the terminal sessions of
``docs/tour.md`` from them.
"""
