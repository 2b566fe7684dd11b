"""What is computed from runs: the metric registry, statistics over replicates, the runner,
scenario comparison on common random numbers, and calibration.

May import kds_sim.model and kds_sim.io.
"""
