"""Talks to an Archway control plane the way a Python operator's tool would:
through grpcio and grpcio-reflection (whose client speaks reflection
v1alpha), with no generated code, for tests/tests/reflection.rs.

Usage: grpc_reflection_client.py HOST:PORT TOKEN METHOD
  METHOD: a full method name to resolve, e.g. archway.v1.RestApiService.CreateRestApi

Prints one JSON object:
  {"services": [...],                     reflection's list, with the token
   "method": {"input": ..., "output": ..., "fields": [...]},
                                          the method's descriptors
   "health": "SERVING",                   grpc.health.v1.Health/Check, no token,
                                          built from reflected descriptors
   "list_rest_apis": {"items": [...]},    a real call with the token, built
                                          from reflected descriptors
   "without_token": "UNAUTHENTICATED"}    reflection without the token
"""

import json
import sys

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

TIMEOUT_S = 10


class Bearer(grpc.UnaryUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds `authorization: Bearer TOKEN` to every call."""

    def __init__(self, token):
        self._header = ("authorization", f"Bearer {token}")

    def _with_token(self, details):
        # grpc passes a namedtuple of the call's details.
        metadata = list(details.metadata or []) + [self._header]
        return details._replace(metadata=metadata)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._with_token(details), requests)


def unary(channel, pool, full_method, request_json):
    """Calls a unary method known only from reflection."""
    method = pool.FindMethodByName(full_method)
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    path = f"/{method.containing_service.full_name}/{method.name}"
    call = channel.unary_unary(
        path,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_class.FromString,
    )
    request = json_format.Parse(json.dumps(request_json), request_class())
    response = call(request, timeout=TIMEOUT_S)
    return json_format.MessageToDict(response)


def main():
    target, token, method_name = sys.argv[1], sys.argv[2], sys.argv[3]
    out = {}
    with grpc.insecure_channel(target) as plain:
        authed = grpc.intercept_channel(plain, Bearer(token))
        reflection = ProtoReflectionDescriptorDatabase(authed)
        out["services"] = sorted(reflection.get_services())
        pool = descriptor_pool.DescriptorPool(reflection)
        method = pool.FindMethodByName(method_name)
        out["method"] = {
            "input": method.input_type.full_name,
            "output": method.output_type.full_name,
            "fields": [f.name for f in method.input_type.fields],
        }
        # Health checks carry no token (load balancers have none).
        health = unary(plain, pool, "grpc.health.v1.Health.Check", {"service": ""})
        out["health"] = health.get("status")
        out["list_rest_apis"] = unary(
            authed, pool, "archway.v1.RestApiService.ListRestApis", {}
        )
        try:
            ProtoReflectionDescriptorDatabase(plain).get_services()
            out["without_token"] = "OK"
        except grpc.RpcError as e:
            out["without_token"] = e.code().name
    print(json.dumps(out))


if __name__ == "__main__":
    main()
