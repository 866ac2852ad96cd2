// The signed-in token lives in this tab's sessionStorage only: never in a
// URL, a cookie or localStorage, and gone when the tab closes.
import { Code, ConnectError } from "@connectrpc/connect";
import type { Clients } from "./api/client";

const KEY = "archway.token";

export type Role = "admin" | "read-only";

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}

/**
 * What a token may do, asked of the server: a token that cannot list APIs
 * cannot use the UI (a node token, or an unknown one); one that may also
 * list admin tokens is an admin token; the rest read only. The server
 * checks every call anyway: this only decides which controls are enabled.
 */
export async function probeRole(clients: Clients): Promise<Role> {
  await clients.apis.listRestApis({ pageSize: 1 });
  try {
    await clients.tokens.listTokens({});
    return "admin";
  } catch (err) {
    if (ConnectError.from(err).code === Code.PermissionDenied) return "read-only";
    throw err;
  }
}
