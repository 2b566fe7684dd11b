"""The shipped scenarios (installed as `kds_sim.scenarios`; this folder is their one source).

Read them with `kds_sim.io.packaged`; copy them to edit with `kds-sim scenarios copy DIR`.
"""
