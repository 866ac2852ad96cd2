import { useState } from "preact/hooks";

/**
 * Takes an admin or read-only token. It goes to this tab's sessionStorage
 * only (never a URL), and is checked against the server before use.
 */
export function SignIn({ onToken, problem }: { onToken: (t: string) => void; problem: string | null }) {
  const [token, setToken] = useState("");
  return (
    <main class="center signin">
      <h1>Archway</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const t = token.trim();
          if (t) onToken(t);
        }}
      >
        <div class="field">
          <label for="token">Admin API token</label>
          <input
            id="token"
            name="token"
            type="password"
            autoComplete="off"
            spellcheck={false}
            required
            value={token}
            aria-describedby="token-hint"
            onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          />
          <small id="token-hint" class="hint">
            An admin or read-only token (the first admin token is in the control plane's data directory, file
            admin-token). It is kept in this tab only.
          </small>
        </div>
        {problem && (
          <p class="failure" role="alert">
            {problem}
          </p>
        )}
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}
