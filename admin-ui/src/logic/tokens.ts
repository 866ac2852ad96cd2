// How the control plane names an admin token without revealing it: the
// first 12 hex digits of its SHA-256 (control-plane/src/auth.rs). The
// tokens page computes it for the token this tab signed in with, to mark
// that row and warn before it is deleted.

/** The token's public id; needs WebCrypto (a secure context: https or localhost). */
export async function tokenId(token: string): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return [...new Uint8Array(hash)]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("")
    .slice(0, 12);
}
