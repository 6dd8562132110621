"""The command line: serve the function over gRPC (as Crossplane runs it), or render."""

import sys

import click
from crossplane.function import cli as sdkcli

from function import serve as serving
from function.fn import FunctionRunner


@click.command()
@sdkcli.standard_options
def serve(**kwargs: object) -> None:
    """Serve function-modelapi over gRPC, as Crossplane runs it.

    \b
    python -m function [OPTIONS]              serve (these options)
    python -m function render XR_FILE [...]   print a ModelAPI's objects and status
                                              offline (render --help: its options)
    """
    serving.run(FunctionRunner(debug=bool(kwargs["debug"])), **kwargs)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "render":
        from function.render import cli as render  # noqa: PLC0415 - serving does not need it

        render(args=sys.argv[2:], prog_name="function render")
    else:
        serve()
