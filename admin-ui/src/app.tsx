// The shell: sign-in, then the navigation and the screen the hash names.
import { useEffect, useMemo, useState } from "preact/hooks";
import { makeClients } from "./api/client";
import { Code } from "@connectrpc/connect";
import { refusal } from "./api/errors";
import { href, useRoute, type Route } from "./router";
import { type Role, forgetToken, probeRole, storeToken, storedToken } from "./session";
import { SessionContext, type Session } from "./ui/context";
import { SignIn } from "./screens/signin";
import { ApisPage } from "./screens/apis";
import { ApiDetailPage } from "./screens/api_detail";
import { MethodPage } from "./screens/method";
import { DeploymentsPage } from "./screens/deployments";
import { ImportPage } from "./screens/import";
import { AuthorizersPage } from "./screens/authorizers";
import { KeysPage } from "./screens/keys";
import { PlansPage } from "./screens/plans";
import { IamPage } from "./screens/iam";
import { TokensPage } from "./screens/tokens";
import { FleetPage } from "./screens/fleet";
import { TrafficPage } from "./screens/traffic";

const NAV: Array<[section: string, label: string, adminOnly?: boolean]> = [
  ["apis", "APIs"],
  ["import", "Import"],
  ["keys", "API keys"],
  ["plans", "Usage plans"],
  ["iam", "IAM"],
  ["tokens", "Admin tokens", true],
  ["fleet", "Fleet"],
  ["traffic", "Traffic"],
];

function screen(route: Route) {
  const [section, id, sub, ...rest] = route.parts;
  switch (section) {
    case undefined:
    case "apis":
      if (!id) return <ApisPage />;
      if (sub === "deployments") return <DeploymentsPage apiId={id} />;
      if (sub === "authorizers") return <AuthorizersPage apiId={id} />;
      if (sub === "methods" && rest.length === 2)
        return <MethodPage apiId={id} resourceId={rest[0]} verb={rest[1]} />;
      return <ApiDetailPage apiId={id} />;
    case "import":
      return <ImportPage />;
    case "keys":
      return <KeysPage />;
    case "plans":
      return <PlansPage planId={id} />;
    case "iam":
      return <IamPage />;
    case "tokens":
      return <TokensPage />;
    case "fleet":
      return <FleetPage />;
    case "traffic":
      return <TrafficPage apiId={id} stage={sub} />;
    default:
      return (
        <p role="alert">
          No page here. <a href={href("apis")}>Go to the APIs</a>.
        </p>
      );
  }
}

export function App() {
  const [token, setToken] = useState<string | null>(storedToken);
  const [role, setRole] = useState<Role | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const route = useRoute();
  const clients = useMemo(
    () =>
      token
        ? makeClients(token, (message) => {
            forgetToken();
            setToken(null);
            setRole(null);
            setProblem(`Signed out: the server no longer accepts this token (${message}).`);
          })
        : null,
    [token],
  );

  const [attempt, setAttempt] = useState(0);
  // A token kept from earlier in this tab is checked again before use.
  useEffect(() => {
    if (!clients) return;
    setProblem(null);
    let live = true;
    probeRole(clients).then(
      (r) => live && setRole(r),
      (e) => {
        if (!live) return;
        const r = refusal(e);
        // A token the server refuses is forgotten; a server that is away
        // (restarting, unreachable) is no reason to sign out.
        if (r.code === Code.Unauthenticated || r.code === Code.PermissionDenied) {
          forgetToken();
          setToken(null);
          setProblem(r.message);
        } else {
          setProblem(`Cannot reach the admin API: ${r.message}`);
        }
      },
    );
    return () => {
      live = false;
    };
  }, [clients, attempt]);

  const signOut = () => {
    forgetToken();
    setToken(null);
    setRole(null);
  };

  if (!token || !clients) {
    return (
      <SignIn
        problem={problem}
        onToken={(t) => {
          setProblem(null);
          storeToken(t);
          setToken(t);
        }}
      />
    );
  }
  if (!role) {
    return (
      <main class="center" aria-busy={problem ? undefined : "true"}>
        {problem ? (
          <>
            <p class="failure" role="alert">
              {problem}
            </p>
            <button type="button" onClick={() => setAttempt((n) => n + 1)}>
              Try again
            </button>{" "}
            <button type="button" class="secondary" onClick={signOut}>
              Sign out
            </button>
          </>
        ) : (
          <p role="status">Checking the token…</p>
        )}
      </main>
    );
  }
  const session: Session = { clients, role, canWrite: role === "admin", signOut };
  const section = route.parts[0] ?? "apis";
  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main" onClick={(e) => {
        e.preventDefault();
        document.getElementById("main")?.focus();
      }}>
        Skip to content
      </a>
      <header class="topbar">
        <span class="brand">Archway</span>
        <nav aria-label="Sections">
          <ul>
            {NAV.filter(([, , adminOnly]) => !adminOnly || role === "admin").map(([s, label]) => (
              <li key={s}>
                <a href={href(s)} aria-current={section === s ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          <span class={`role role-${role}`} data-testid="role">
            {role === "admin" ? "admin" : "read-only"}
          </span>
          <button type="button" class="link" onClick={signOut}>
            Sign out
          </button>
        </span>
      </header>
      {role !== "admin" && (
        <p class="readonly-banner" role="note">
          Read-only token: you can look at everything, and changes are disabled.
        </p>
      )}
      <main id="main" tabIndex={-1}>
        {screen(route)}
      </main>
    </SessionContext.Provider>
  );
}
