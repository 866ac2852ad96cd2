// Admin tokens: list, create (the token shown once), delete. The server
// allows AdminTokenService to admin tokens only; the navigation hides this
// page from others, and one opened directly shows the server's refusal.
import { useEffect, useMemo, useState } from "preact/hooks";
import { allPages } from "../api/client";
import { TokenRole } from "../gen/archway/v1/admin_pb";
import { tokenId } from "../logic/tokens";
import { storedToken } from "../session";
import { useSession } from "../ui/context";
import { InlineForm } from "../ui/inline_form";
import { ConfirmButton } from "../ui/confirm_button";
import { ListHead } from "../ui/list_head";
import { Failure, Field, PageHeader, Select } from "../ui/form";
import { when } from "../ui/format";
import { useAction, useFormState, useLoad } from "../ui/hooks";
import { ShownOnce } from "../ui/shown_once";

const ROLES: Array<[string, string]> = [
  [String(TokenRole.ADMIN), "admin"],
  [String(TokenRole.READ_ONLY), "read-only"],
  [String(TokenRole.NODE), "node"],
];
const ROLE_NAMES: Record<number, string> = Object.fromEntries(ROLES.map(([v, l]) => [Number(v), l]));
const FIELDS = ["name", "role"];

interface Created {
  name: string;
  secret: string;
}

export function TokensPage() {
  const { clients, canWrite, signOut } = useSession();
  const tokens = useLoad(
    () => allPages((pageToken) => clients.tokens.listTokens({ pageSize: 500, pageToken })),
    [clients],
  );
  const mine = useOwnTokenId();
  const create = useAction();
  const remove = useAction();
  const [form, set, reset] = useFormState({ name: "", role: String(TokenRole.READ_ONLY) });
  // The new token's value: in this component's state only, gone when the page is left.
  const [created, setCreated] = useState<Created | null>(null);
  const list = useMemo(
    () => [...(tokens.data ?? [])].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id)),
    [tokens.data],
  );

  return (
    <section aria-label="Admin tokens">
      <PageHeader title="Admin tokens" />
      <p class="muted">
        Tokens for operators (admin), dashboards and tools that only look (read-only), and data-plane nodes
        (node). The server keeps only a hash: a token's value is shown once, when it is created.
      </p>
      <InlineForm
        label="Create an admin token"
        action={create}
        submit="Create token"
        fields={FIELDS}
        onSubmit={async () => {
          setCreated(null);
          const made = await create.run(() => clients.tokens.createToken({ name: form.name, role: Number(form.role) }));
          if (made) {
            setCreated({ name: made.token?.name ?? form.name, secret: made.secret });
            // The role chosen stays for the next token.
            reset("name");
            tokens.reload();
          }
        }}
      >
        <Field
          label="Token name"
          names={["name"]}
          failure={create.failure}
          value={form.name}
          onValue={set("name")}
          disabled={!canWrite}
        />
        <Select
          label="Role"
          names={["role"]}
          failure={create.failure}
          value={form.role}
          onValue={set("role")}
          options={ROLES}
          disabled={!canWrite}
        />
      </InlineForm>
      {created && (
        <ShownOnce label="token" value={created.secret} testId="new-token-value" onDone={() => setCreated(null)}>
          Token {created.name}:
        </ShownOnce>
      )}

      <Failure failure={tokens.error} />
      <Failure failure={remove.failure} />
      {tokens.loading && !tokens.data && <p role="status">Loading…</p>}
      {tokens.data && (
        <table class="list" aria-label="Admin tokens">
          <ListHead columns={["Name", "Id", "Role", "Created"]} />
          <tbody>
            {list.map((t) => (
              <tr key={t.id} data-testid={`token-${t.id}`}>
                <td>
                  {t.name}
                  {t.id === mine && (
                    <>
                      {" "}
                      <span class="badge">this session</span>
                    </>
                  )}
                </td>
                <td>
                  <code>{t.id}</code>
                </td>
                <td>{ROLE_NAMES[t.role] ?? String(t.role)}</td>
                <td>{when(t.createdAtMs)}</td>
                <td>
                  <div class="row-actions">
                    <ConfirmButton
                      action={remove}
                      label={`Delete token ${t.name} (${t.id})`}
                      confirmText={`Delete token ${t.name} (${t.id})? Whatever uses it is refused from now on.${
                        t.id === mine ? "\n\nThis is the token this session signed in with: you will be signed out." : ""
                      }`}
                      run={() => clients.tokens.deleteToken({ id: t.id })}
                      onDone={t.id === mine ? signOut : tokens.reload}
                    />
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * The id of the token this tab signed in with: the first 12 hex digits of
 * its SHA-256, as the server names tokens. Lets the list mark it, so an
 * operator does not delete their own session's token unawares. Needs
 * crypto.subtle (a secure context); without it nothing is marked.
 */
function useOwnTokenId(): string | null {
  const [id, setId] = useState<string | null>(null);
  useEffect(() => {
    const token = storedToken();
    if (!token || !globalThis.crypto?.subtle) return;
    let live = true;
    tokenId(token).then(
      (h) => live && setId(h),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, []);
  return id;
}
