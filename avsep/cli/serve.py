"""``avsep serve``: serve the deployment ``build-dataset/rebuild`` so a person can trigger builds from the
Prefect UI (needs a Prefect server: ``prefect server start``, and PREFECT_API_URL pointing at it)."""

from __future__ import annotations


def register(sub, common) -> None:
    p = sub.add_parser("serve", parents=[common], help="serve the build-dataset/rebuild deployment for the UI")
    p.add_argument("--name", default="rebuild", help="deployment name (default: rebuild)")
    p.set_defaults(func=run)


def run(args) -> int:
    from pipelines import configure_prefect

    configure_prefect()
    from pipelines.deployments import serve_rebuild

    serve_rebuild(args.name, args.params, args.overrides)
    return 0
