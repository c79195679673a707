"""``avsep serve``: serve the deployment ``build-dataset/rebuild`` so a person can trigger builds from the
Prefect UI; ``--with-server`` also starts the Prefect server (and its UI) for as long as the command runs,
otherwise PREFECT_API_URL names a running one (``prefect server start``)."""

from __future__ import annotations


def register(sub, common) -> None:
    p = sub.add_parser("serve", parents=[common], help="serve the build-dataset/rebuild deployment for the UI")
    p.add_argument("--name", default="rebuild", help="deployment name (default: rebuild)")
    p.add_argument(
        "--with-server",
        action="store_true",
        help="also start a Prefect server and its UI, stopped when this command ends (Ctrl-C)",
    )
    p.add_argument("--host", help="with --with-server: the server's address (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, help="with --with-server: the server's port (default: 4200, or a free one)")
    p.set_defaults(func=run)


def run(args) -> int:
    from avsep.cli import CommandError

    if not args.with_server and (args.host is not None or args.port is not None):
        raise CommandError("--host/--port: they place the server that --with-server starts; add --with-server")
    from pipelines import configure_prefect

    configure_prefect()
    from pipelines.deployments import serve_rebuild
    from pipelines.server import ServerError

    try:
        serve_rebuild(args.name, args.params, args.overrides, args.with_server, args.host or "127.0.0.1", args.port)
    except ServerError as exc:
        raise CommandError(str(exc)) from None
    return 0
