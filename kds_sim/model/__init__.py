"""The simulation itself: parameter schema, Marlatt & Gordon rules, people, social network, the
peer support group, interventions as plug-ins, and the Mesa agents and model.

Imports nothing else from kds_sim: every other layer builds on this one.
"""
