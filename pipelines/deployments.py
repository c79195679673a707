"""Deployments of the flows, for the Prefect UI."""

from __future__ import annotations

import contextlib
import os

from avsep.config import load_params
from avsep.dataset.plan import (
    SERVED_PARAMS_ENV,
    BuildRequest,
    check_flow_inputs,
    check_no_allowed_roots_override,
    check_out_dir_allowed,
    is_request_override,
)
from pipelines import configure_prefect


def rebuild_parameters(params_file: str = "params.yaml", overrides: list[str] | None = None) -> dict:
    """The default parameters of ``build-dataset/rebuild``, as ``params_file`` with ``overrides`` sets them.

    ``source``, ``index``, ``out_dir`` and ``seed`` are the flow's own parameters, so an override of their keys
    becomes the parameter's default (a UI user then changes the parameter, not a conflicting override); the
    other overrides stay ``overrides``. Checked as a run would check them, so a served default never fails
    every run: the file exists, the overrides are well formed and leave ``build.allowed_roots`` alone, and the
    default ``out_dir`` lies under those roots. Raises ParamsError naming the input.
    """
    overrides = list(overrides or [])
    check_no_allowed_roots_override(overrides)
    check_flow_inputs(params_file, overrides)
    settings = load_params(params_file, overrides)
    request = BuildRequest.from_params(settings)
    check_out_dir_allowed(request.out_dir, settings.build.allowed_roots)
    return {
        "source": request.source,
        "index": request.index,
        "out_dir": request.out_dir,
        "seed": request.seed,
        # Absolute: the UI shows which file a run reads, whatever folder the runs start in.
        "params_file": os.path.abspath(params_file),
        "overrides": [text for text in overrides if not is_request_override(text)],
    }


def serve_rebuild(
    name: str = "rebuild",
    params_file: str = "params.yaml",
    overrides: list[str] | None = None,
    with_server: bool = False,
    host: str = "127.0.0.1",
    port: int | None = None,
) -> None:
    """Serve ``build-dataset/{name}`` until interrupted; its default parameters come from ``params_file``
    (:func:`rebuild_parameters`), and a person may change any of them (source, index, out_dir under
    ``build.allowed_roots``, splits, seed, limits) when triggering a run from the UI; each run checks them
    before any work (pipelines.build_dataset).

    ``with_server``: first start a Prefect server on ``host``:``port`` (:class:`pipelines.server.PrefectServer`)
    and serve to it; it stops when serving ends (Ctrl-C, SIGTERM). Without it, ``PREFECT_API_URL`` names the
    server. Raises ParamsError for a bad default, ServerError when the server does not start.
    """
    parameters = rebuild_parameters(params_file, overrides)  # before any server starts: a mistake fails fast
    configure_prefect()
    if not with_server:
        _serve(name, parameters)
        return
    from pipelines.server import PrefectServer

    with PrefectServer(host, port) as server:
        # Set before Prefect is imported, which reads it then; the flow runs started by serving inherit it.
        os.environ["PREFECT_API_URL"] = server.api_url
        print(f"Prefect UI: {server.url} (server log: {server.log}; stopped when this command ends)", flush=True)
        _serve(name, parameters, server.api_url)


def _serve(name: str, parameters: dict, api_url: str | None = None) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from pipelines.build_dataset import build_dataset_served  # imports Prefect: after its defaults are set

    # The server's address also for a process that imported Prefect before the server existed (its settings
    # were read then); without one, the settings Prefect read apply.
    settings = temporary_settings({PREFECT_API_URL: api_url}) if api_url else contextlib.nullcontext()
    # The flow runs serving starts inherit this: each refuses any params_file but the served one.
    os.environ[SERVED_PARAMS_ENV] = parameters["params_file"]
    with settings:
        # The served flow keeps out_dir under build.allowed_roots: the UI's parameters are anyone's to type.
        # Prefect prints the deployment's UI address once it is registered.
        build_dataset_served.serve(
            name=name,
            parameters=parameters,
            description="Rebuild the dataset shards from a source index (avsep).",
            tags=["avsep", "dataset"],
        )
