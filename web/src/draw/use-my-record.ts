/**
 * The shopper's own record in a draw or registration sale (their entry, their registration), shared by DrawPanel
 * and RegisterPanel: polled while the page is open and the shopper is signed in (a 401 reads as "none"), and
 * created by one action whose UNAUTHENTICATED sends the shopper to sign in and whose other errors become a message.
 */
import { useState } from "preact/hooks";
import { ApiFailure } from "../lib/api.ts";
import { navigate } from "../lib/router.ts";
import { currentUser, markSignedOut } from "../lib/shop.ts";
import { usePolling } from "../components/hooks.ts";
import { t } from "./strings.ts";

export interface MyRecordOptions<T> {
  saleId: string;
  /** Reads the record (null: none yet). */
  load: (saleId: string, signal: AbortSignal) => Promise<T | null>;
  /** Creates it (enter, register); answers the record. */
  create: (saleId: string) => Promise<T>;
  /** How often it is read again. */
  everyMs: number;
  /** Once found it never changes (a registration): polling stops. */
  final?: boolean;
}

export interface MyRecord<T> {
  /** undefined: not loaded yet; null: none. */
  record: T | null | undefined;
  signedIn: boolean;
  busy: boolean;
  /** The last action's error, for the shopper. */
  message: string | null;
  /** Runs `create`, showing its error or sending the shopper to sign in. */
  create: () => Promise<void>;
}

/** Polls and creates the signed-in shopper's record in `saleId` (see above). */
export function useMyRecord<T>({ saleId, load, create, everyMs, final = false }: MyRecordOptions<T>): MyRecord<T> {
  const [record, setRecord] = useState<T | null | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const signedIn = currentUser.value !== null;

  usePolling(
    async (signal) => {
      if (!signedIn || (final && record)) return;
      try {
        setRecord(await load(saleId, signal));
      } catch (err) {
        if (err instanceof ApiFailure && err.status === 401) {
          setRecord(null);
          return;
        }
        throw err;
      }
    },
    everyMs,
    [saleId, signedIn],
  );

  const run = async () => {
    setBusy(true);
    setMessage(null);
    try {
      setRecord(await create(saleId));
    } catch (err) {
      if (err instanceof ApiFailure && err.code === "UNAUTHENTICATED") {
        markSignedOut();
        navigate(`/signin?next=${encodeURIComponent(location.pathname)}`);
        return;
      }
      setMessage(err instanceof ApiFailure ? err.message : t("error.generic"));
    } finally {
      setBusy(false);
    }
  };

  return { record, signedIn, busy, message, create: run };
}
