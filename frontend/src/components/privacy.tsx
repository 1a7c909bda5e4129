"use client";

// The account's privacy state on the dashboards (docs/PRIVACY.md): the address still to
// confirm, and the parental consent a student under 15 needs for ARIA and chat.
import { useState } from "react";
import { api, errorMessage, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { formatDateTime } from "@/lib/format";
import { Button, ErrorAlert, SuccessNote, SECONDARY_BUTTON } from "./ui";

const notice = "rounded-xl border border-amber-300 bg-amber-50 p-5 text-amber-950 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100";

/** The signed-in user as `EmailVerification` needs it: loaded by the dashboard with the
 * rest of its data, so that the notice arrives with the page instead of pushing it down
 * (tests/e2e/layout.spec.ts). */
export function useMe(enabled: boolean) {
  return useLoader(enabled, () => api.GET("/api/auth/me"));
}

/** Shown while the signed-in user's address is not confirmed, with a button to mail the link again. */
export function EmailVerification({ me: data }: { me: Schemas["MeResponse"] | null }) {
  const [sent, setSent] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (!data || data.user.isVerified) return null;

  async function resend() {
    setBusy(true);
    setError(null);
    setSent(null);
    const { data: done, error: apiError } = await api.POST("/api/auth/verify-email/resend");
    setBusy(false);
    if (done) setSent(`Un nouveau lien a été envoyé à ${data!.user.email}. Le précédent ne fonctionne plus.`);
    else setError(errorMessage(apiError));
  }

  return (
    <section aria-labelledby="verification-titre" className={notice} data-testid="email-verification">
      <h2 id="verification-titre" className="mb-1 text-lg font-semibold">
        Confirmez votre adresse e-mail
      </h2>
      <p className="mb-3">
        Nous avons envoyé un lien de confirmation à <strong>{data.user.email}</strong>. Ouvrez-le pour confirmer votre adresse
        {data.user.role === "parent" ? " : elle est nécessaire pour donner votre accord pour un enfant de moins de 15 ans." : "."}
      </p>
      <ErrorAlert message={error} />
      <SuccessNote message={sent} />
      <button type="button" onClick={resend} disabled={busy} className={`${SECONDARY_BUTTON} mt-2 bg-white dark:bg-slate-900`}>
        {busy ? "Envoi…" : "Renvoyer le lien"}
      </button>
    </section>
  );
}

/** A student's own consent status (for `StudentConsentNotice`), loaded with the dashboard. */
export function useOwnConsent(studentId: number | undefined, revision: number) {
  return useLoader(studentId !== undefined, () => api.GET("/api/students/{id}/consent", { params: { path: { id: studentId! } } }), `${studentId}-${revision}`);
}

/** A student's own view: what waits for a parent's consent, and how to get it. */
export function StudentConsentNotice({ consent: data }: { consent: Schemas["ConsentStatus"] | null }) {
  if (!data || !data.blocked) return null;
  return (
    <section aria-labelledby="accord-titre" className={notice} data-testid="consent-notice">
      <h2 id="accord-titre" className="mb-1 text-lg font-semibold">
        ARIA et la messagerie attendent l&apos;accord d&apos;un parent
      </h2>
      <p>
        Tu as moins de 15 ans : la loi demande l&apos;accord d&apos;un parent avant que tu utilises ARIA et la messagerie. Crée un code
        d&apos;appairage ci-dessous et donne-le à ton parent : il le saisit dans son compte, puis donne son accord. Tes cours et tes
        évaluations restent accessibles.
      </p>
    </section>
  );
}

/** A parent's view of a child's consent: shown for a child under 15 only, with give / withdraw. */
export function ParentConsent({ studentId, firstName, revision }: { studentId: number; firstName: string; revision: number }) {
  const { data, error: loadError, reload } = useLoader(
    true,
    () => api.GET("/api/students/{id}/consent", { params: { path: { id: studentId } } }),
    `${studentId}-${revision}`,
  );
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (loadError) return <ErrorAlert message={loadError} />;
  if (!data || !data.underAge) return null;

  async function change(given: boolean) {
    setBusy(true);
    setError(null);
    setDone(null);
    const { error: apiError } = await api.PUT("/api/students/{id}/consent", { params: { path: { id: studentId } }, body: { given } });
    setBusy(false);
    if (apiError) {
      setError(errorMessage(apiError));
      return;
    }
    setDone(
      given
        ? `Accord donné : ${firstName} peut utiliser ARIA et la messagerie.`
        : `Accord retiré : ${firstName} ne peut plus utiliser ARIA ni la messagerie.`,
    );
    reload();
  }

  const headingId = `accord-${studentId}`;
  return (
    <section
      aria-labelledby={headingId}
      className="rounded-xl border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-800 dark:bg-slate-900"
      data-testid="consent"
    >
      <h3 id={headingId} className="mb-1 text-lg font-semibold">
        Accord parental
      </h3>
      <p className="mb-3 text-slate-700 dark:text-slate-300">
        {firstName} a moins de 15 ans : ARIA, le tuteur, et la messagerie avec ses enseignants ne lui sont ouverts qu&apos;avec
        l&apos;accord d&apos;un parent. Vous pouvez le retirer à tout moment ; il prend effet aussitôt.
      </p>
      <p className="mb-3 font-medium" data-testid="consent-state">
        {data.given
          ? `Accord donné${data.givenBy ? ` par ${data.givenBy}` : ""}${data.givenAt ? ` le ${formatDateTime(data.givenAt)}` : ""}.`
          : "Pas encore d'accord : ARIA et la messagerie sont fermés."}
      </p>
      <ErrorAlert message={error} />
      <SuccessNote message={done} />
      <div className="mt-2">
        {data.given ? (
          <button type="button" className={SECONDARY_BUTTON} disabled={busy} onClick={() => change(false)}>
            Retirer mon accord
          </button>
        ) : (
          <Button type="button" disabled={busy} onClick={() => change(true)}>
            Donner mon accord
          </Button>
        )}
      </div>
    </section>
  );
}
