// A WEBSOCKET API's routes: methods of the root resource whose httpMethod is
// the route key. Shown by key in a connection's order ($connect, $default,
// custom keys, $disconnect), not as "/" methods.
import { ApiProtocol, type Method, type RestApi } from "../gen/archway/v1/config_pb";

export function isWebSocket(api: RestApi): boolean {
  return api.protocol === ApiProtocol.WEBSOCKET;
}

/** Where a key sorts: the reserved keys in a connection's order around the custom ones. */
function rank(key: string): number {
  switch (key) {
    case "$connect":
      return 0;
    case "$default":
      return 1;
    case "$disconnect":
      return 3;
    default:
      return 2;
  }
}

export interface RouteRow {
  key: string;
  /** Its integration's answer goes back to the client. */
  twoWay: boolean;
  method: Method;
}

/** The routes in a connection's order, custom keys alphabetically. */
export function websocketRoutes(methods: Method[]): RouteRow[] {
  return methods
    .map((method) => ({
      key: method.httpMethod,
      twoWay: method.routeResponseSelectionExpression !== "",
      method,
    }))
    .sort((a, b) => rank(a.key) - rank(b.key) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
