"""Data: scenarios (as files), image sources, data folders of the official layout, the proxy.

``scenarios`` describes and draws a scenario (``scenario_files/*.toml`` are the built-in
ones); ``sources`` reads MNIST and Fashion-MNIST images; ``folders`` checks and reads a data
folder; ``proxy`` writes a drawn scenario as one; ``ensure`` gets a run its data.
"""
