"use client";

import { useState } from "react";
import { api, errorMessage } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { CLASS_LEVELS } from "@/lib/format";
import { useRequireRole } from "@/components/session";
import { useNotifications } from "@/components/notifications";
import { StudentSummary } from "@/components/StudentSummary";
import { Button, Card, ErrorAlert, Field, Loading, SuccessNote } from "@/components/ui";

const PARENT = ["parent"];

export function ParentDashboard() {
  const { allowed, user } = useRequireRole(PARENT);
  const { revision } = useNotifications();
  const { data: dashboard, error: loadError, reload } = useLoader(allowed, () => api.GET("/api/dashboard/parent"), revision);

  if (!allowed) return <Loading />;
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-bold">Mes enfants</h1>
        <p className="text-slate-700 dark:text-slate-300">Bonjour {user?.firstName}</p>
      </div>
      <ErrorAlert message={loadError} />
      {!dashboard && !loadError && <Loading />}
      {dashboard && dashboard.children.length === 0 && (
        <Card>
          <p>Aucun enfant n&apos;est encore lié à votre compte. Demandez-lui son code d&apos;appairage (dans son tableau de bord), puis saisissez-le ci-dessous.</p>
        </Card>
      )}
      {dashboard?.children.map((child) => (
        <section key={child.student.id} aria-labelledby={`enfant-${child.student.id}`} className="space-y-3" data-testid="child">
          <h2 id={`enfant-${child.student.id}`} className="text-xl font-semibold">
            {child.student.firstName} {child.student.lastName}
            {child.student.classLevel && (
              <span className="ml-2 text-base font-normal text-slate-600 dark:text-slate-300">
                {CLASS_LEVELS[child.student.classLevel] ?? child.student.classLevel}
              </span>
            )}
          </h2>
          <StudentSummary dashboard={child} idPrefix={`enfant-${child.student.id}`} headingLevel={3} forParent />
        </section>
      ))}
      <LinkChild onLinked={reload} />
    </div>
  );
}

function LinkChild({ onLinked }: { onLinked: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [linked, setLinked] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const code = String(new FormData(form).get("code") ?? "").trim();
    setBusy(true);
    setError(null);
    setLinked(null);
    const { data, error: apiError } = await api.POST("/api/me/children", { body: { code } });
    setBusy(false);
    if (data) {
      setLinked(`${data.child.firstName} ${data.child.lastName} est maintenant lié(e) à votre compte.`);
      form.reset();
      onLinked();
    } else setError(errorMessage(apiError));
  }

  return (
    <Card title="Lier un enfant" id="lier">
      <form onSubmit={onSubmit} className="flex flex-col gap-3 sm:max-w-md" noValidate>
        <ErrorAlert message={error} />
        <SuccessNote message={linked} />
        <Field
          id="code-appairage"
          name="code"
          label="Code d'appairage"
          hint="Le code à 8 caractères que votre enfant a créé dans son tableau de bord."
          autoComplete="off"
          autoCapitalize="characters"
          required
        />
        <Button type="submit" disabled={busy}>
          {busy ? "Envoi…" : "Lier"}
        </Button>
      </form>
    </Card>
  );
}
