"use client";

import { useState } from "react";
import { api, errorMessage, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { CLASS_LEVELS, formatDateTime } from "@/lib/format";
import { useRequireRole } from "@/components/session";
import { useNotifications } from "@/components/notifications";
import { usePresence } from "@/components/presence";
import { StudentSummary } from "@/components/StudentSummary";
import { EmailVerification, StudentConsentNotice, useMe, useOwnConsent } from "@/components/privacy";
import { Button, Card, ErrorAlert, Field, Loading, SuccessNote } from "@/components/ui";

const STUDENT = ["student"];

export function StudentDashboard() {
  const { allowed, user } = useRequireRole(STUDENT);
  const { revision } = useNotifications();
  const { data: dashboard, error: loadError, settled: dashboardSettled, reload } = useLoader(allowed, () => api.GET("/api/dashboard/student"), revision);
  const { data: classes, settled: classesSettled, reload: reloadClasses } = useLoader(allowed, () => api.GET("/api/classes", { params: { query: { limit: 100 } } }), revision);
  const { data: me, settled: meSettled } = useMe(allowed);
  const { data: consent, settled: consentSettled } = useOwnConsent(allowed ? user?.id : undefined, revision);
  // The page comes whole, once all four have answered: a summary arriving after the
  // classes, or the address-to-confirm notice after the summary, pushed what was below
  // down the page, under the pointer (tests/e2e/layout.spec.ts).
  const settled = dashboardSettled && classesSettled && meSettled && consentSettled;

  if (!allowed) return <Loading />;
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-bold">Tableau de bord</h1>
        <p className="text-slate-700 dark:text-slate-300">
          Bonjour {user?.firstName}
          {dashboard?.student.classLevel ? ` · ${CLASS_LEVELS[dashboard.student.classLevel] ?? dashboard.student.classLevel}` : ""}
        </p>
      </div>
      <ErrorAlert message={loadError} />
      {settled ? (
        <>
          <StudentConsentNotice consent={consent} />
          <EmailVerification me={me} />
          {dashboard && <StudentSummary dashboard={dashboard} idPrefix="eleve" />}
          {classes && classes.classes.length > 0 && user && <MyClasses classes={classes.classes} me={user.id} />}
          <div className="grid items-start gap-4 md:grid-cols-2">
            <JoinClass
              onJoined={() => {
                reload();
                reloadClasses();
              }}
            />
            <PairingCode />
          </div>
        </>
      ) : (
        <Loading />
      )}
    </div>
  );
}

/** The student's classes, with who is online there now (the hub's presence). */
function MyClasses({ classes, me }: { classes: Schemas["ClassView"][]; me: number }) {
  return (
    <Card title="Mes classes" id="mes-classes">
      <ul className="divide-y divide-slate-100 dark:divide-slate-800" data-testid="my-classes">
        {classes.map((c) => (
          <ClassLine key={c.id} cls={c} me={me} />
        ))}
      </ul>
    </Card>
  );
}

function ClassLine({ cls, me }: { cls: Schemas["ClassView"]; me: number }) {
  const online = usePresence(`class:${cls.id}`, me);
  const teacherOnline = cls.teacherId in online;
  const students = Object.keys(online).filter((id) => Number(id) !== cls.teacherId).length;
  return (
    <li className="flex flex-wrap items-baseline justify-between gap-2 py-2">
      <div>
        <p className="font-medium">{cls.name}</p>
        <p className="text-sm text-slate-600 dark:text-slate-300">
          {cls.teacherName} · {cls.studentCount} élève{cls.studentCount > 1 ? "s" : ""}
        </p>
      </div>
      <p className="flex items-center gap-1.5 text-sm text-slate-700 dark:text-slate-300" data-testid="class-presence">
        <span aria-hidden="true" className={`h-2.5 w-2.5 rounded-full ${students > 0 || teacherOnline ? "bg-emerald-600" : "bg-slate-400"}`} />
        {students === 0 ? "Aucun autre élève en ligne" : `${students} autre${students > 1 ? "s" : ""} élève${students > 1 ? "s" : ""} en ligne`}
        {teacherOnline ? " · enseignant·e en ligne" : ""}
      </p>
    </li>
  );
}

function JoinClass({ onJoined }: { onJoined: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [joined, setJoined] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const code = String(new FormData(form).get("code") ?? "").trim();
    setBusy(true);
    setError(null);
    setJoined(null);
    const { data, error: apiError } = await api.POST("/api/classes/join", { body: { code } });
    setBusy(false);
    if (data) {
      setJoined(`Vous avez rejoint la classe ${data.class.name} (${data.class.teacherName}).`);
      form.reset();
      onJoined();
    } else setError(errorMessage(apiError));
  }

  return (
    <Card title="Rejoindre une classe" id="rejoindre">
      <form onSubmit={onSubmit} className="flex flex-col gap-3" noValidate>
        <ErrorAlert message={error} />
        <SuccessNote message={joined} />
        <Field
          id="code-classe"
          name="code"
          label="Code de la classe"
          hint="Le code que votre enseignant vous a donné."
          autoComplete="off"
          autoCapitalize="characters"
          required
        />
        <Button type="submit" disabled={busy}>
          {busy ? "Envoi…" : "Rejoindre"}
        </Button>
      </form>
    </Card>
  );
}

function PairingCode() {
  const [code, setCode] = useState<Schemas["PairingCode"] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function create() {
    setBusy(true);
    setError(null);
    const { data, error: apiError } = await api.POST("/api/me/pairing-code");
    setBusy(false);
    if (data) setCode(data);
    else setError(errorMessage(apiError));
  }

  return (
    <Card title="Code d'appairage" id="appairage">
      <div className="flex flex-col gap-3">
        <p className="text-slate-700 dark:text-slate-300">
          Donnez ce code à votre parent pour qu&apos;il suive votre progression depuis son compte.
        </p>
        <ErrorAlert message={error} />
        {code && (
          <p role="status">
            <span className="block font-mono text-2xl tracking-widest" data-testid="pairing-code">
              {code.code}
            </span>
            <span className="text-sm text-slate-600 dark:text-slate-300">Valable jusqu&apos;au {formatDateTime(code.expiresAt)}</span>
          </p>
        )}
        <Button type="button" onClick={() => void create()} disabled={busy}>
          {code ? "Créer un nouveau code" : "Créer un code"}
        </Button>
      </div>
    </Card>
  );
}
