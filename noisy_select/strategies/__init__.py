"""The rules: what each of the two networks learns from, batch by batch.

``base`` what every rule shares (input checks, per-batch maths, ``Strategy``); ``shipped`` the
rule this project ships; ``anchors``, ``adaptive``, ``cleanlab_anchor`` and ``oracles`` the rules
to compare against; ``own`` rules of one's own; ``registry`` every rule by name. Candidates under
measurement are rule files in the repository's ``research/``.
"""
