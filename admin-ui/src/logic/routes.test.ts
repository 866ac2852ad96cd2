import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ApiProtocol, MethodSchema, RestApiSchema } from "../gen/archway/v1/config_pb";
import { isWebSocket, websocketRoutes } from "./routes";

const route = (key: string, twoWay = false) =>
  create(MethodSchema, { httpMethod: key, routeResponseSelectionExpression: twoWay ? "$default" : "" });

describe("websocketRoutes", () => {
  it("orders routes as a connection meets them, custom keys alphabetically", () => {
    const rows = websocketRoutes([
      route("$disconnect"),
      route("sendMessage", true),
      route("$default"),
      route("join"),
      route("$connect"),
    ]);
    expect(rows.map((r) => r.key)).toEqual(["$connect", "$default", "join", "sendMessage", "$disconnect"]);
    expect(rows.map((r) => r.twoWay)).toEqual([false, false, false, true, false]);
  });

  it("keeps keys as written: they are case-sensitive", () => {
    expect(websocketRoutes([route("b"), route("B"), route("a")]).map((r) => r.key)).toEqual(["B", "a", "b"]);
  });
});

describe("isWebSocket", () => {
  it("is the protocol's", () => {
    expect(isWebSocket(create(RestApiSchema, { protocol: ApiProtocol.WEBSOCKET }))).toBe(true);
    expect(isWebSocket(create(RestApiSchema, { protocol: ApiProtocol.REST }))).toBe(false);
  });
});
