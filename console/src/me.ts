// Who is signed in, read once per session from the public API: the token's user and their role.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { call, type DevUser, type TokenInfo } from "./api";

export interface Me {
  info: TokenInfo;
  user: DevUser & { role?: string };
  /** Admins see write actions; members see the console read-only. */
  isAdmin: boolean;
  /** Reads who is signed in again: after a change to the signed-in user's own role. */
  refresh?: () => void;
}

export async function loadMe(): Promise<Me> {
  const info = await call<TokenInfo>("auth-tokens.info");
  const { dev_user } = await call<{ dev_user: DevUser & { role?: string } }>("dev-users.self");
  return { info, user: dev_user, isAdmin: dev_user.role === "admin" };
}

export const MeContext = createContext<Me | undefined>(undefined);

export function useMe(): Me {
  const me = useContext(MeContext);
  if (!me) throw new Error("useMe outside a signed-in page");
  return me;
}
