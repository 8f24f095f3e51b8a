"""Prefect flows (one deployable flow per module) over the shared steps in ``flows.steps``."""
