"""The selection strategies: what each of the two networks learns from, batch by batch.

``shipped`` is the strategy this project ships (``your_select_indices``); ``base`` holds what
every strategy shares (input checks, per-batch maths, ``Strategy``); ``anchors`` the published strategies
to compare against; ``adaptive`` the strategy that estimates its keep shares; ``oracles`` the strategies
that read the clean labels (bench only); ``cleanlab_anchor`` cleanlab's confident learning;
``own`` rules of one's own, from a file or a module; ``registry`` every strategy by name.
Candidates under measurement are rule files in the repository's ``research/``, not here.
"""
