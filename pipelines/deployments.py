"""Deployments of the flows, for the Prefect UI."""

from __future__ import annotations

from avsep.dataset.plan import check_flow_inputs
from pipelines import configure_prefect


def serve_rebuild(name: str = "rebuild", params_file: str = "params.yaml", overrides: list[str] | None = None) -> None:
    """Serve ``build-dataset/{name}``; its default parameters come from ``params_file``, and a person may change
    any of them (source, index, out_dir under ``build.allowed_roots``, splits, seed, limits) when triggering a
    run from the UI; each run checks them before any work (pipelines.build_dataset). The served defaults are
    checked here, before serving."""
    check_flow_inputs(params_file, overrides)
    configure_prefect()
    from pipelines.build_dataset import build_dataset_served  # imports Prefect: after its defaults are set

    # The served flow keeps out_dir under build.allowed_roots: the UI's parameters are anyone's to type.
    build_dataset_served.serve(
        name=name,
        parameters={"params_file": params_file, "overrides": list(overrides or [])},
        description="Rebuild the dataset shards from a source index (avsep).",
        tags=["avsep", "dataset"],
    )
