"""The shipped experiment designs (installed as `kds_sim.designs`; this folder is their source)."""
