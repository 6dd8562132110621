"""The floor: a function on the same SDK that only echoes the request, served the same way."""

import click
import grpc
from crossplane.function import cli as sdkcli
from crossplane.function import response
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1


class EchoRunner(grpcv1.FunctionRunnerServiceServicer):
    async def RunFunction(
        self, req: fnv1.RunFunctionRequest, _: grpc.aio.ServicerContext | None = None
    ) -> fnv1.RunFunctionResponse:
        return response.to(req)


@click.command()
@sdkcli.standard_options
def serve(**kwargs: object) -> None:
    """Serve the echo function over gRPC."""
    sdkcli.run(EchoRunner(), **kwargs)  # type: ignore[arg-type]


if __name__ == "__main__":
    serve()
