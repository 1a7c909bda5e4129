"use client";

import { useState } from "react";
import { api, errorMessage, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { CLASS_LEVELS, formatDateTime } from "@/lib/format";
import { useRequireRole } from "@/components/session";
import { useNotifications } from "@/components/notifications";
import { StudentSummary } from "@/components/StudentSummary";
import { Button, Card, ErrorAlert, Field, Loading, SuccessNote } from "@/components/ui";

const STUDENT = ["student"];

export function StudentDashboard() {
  const { allowed, user } = useRequireRole(STUDENT);
  const { revision } = useNotifications();
  const { data: dashboard, error: loadError, reload } = useLoader(allowed, () => api.GET("/api/dashboard/student"), revision);

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
      {dashboard ? <StudentSummary dashboard={dashboard} idPrefix="eleve" /> : !loadError && <Loading />}
      <div className="grid items-start gap-4 md:grid-cols-2">
        <JoinClass onJoined={reload} />
        <PairingCode />
      </div>
    </div>
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
