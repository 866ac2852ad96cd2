import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Clients } from "../api/client";
import type { Role } from "../session";

export interface Session {
  clients: Clients;
  role: Role;
  /** False for a read-only token: write controls render disabled (the server refuses anyway). */
  canWrite: boolean;
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside the signed-in app");
  return s;
}
