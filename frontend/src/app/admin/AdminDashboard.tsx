"use client";

import Link from "next/link";
import { useState } from "react";
import { api, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { formatNumber } from "@/lib/format";
import { useRequireRole } from "@/components/session";
import { useNotifications } from "@/components/notifications";
import { BarChart } from "@/components/charts";
import { ClassUsage } from "@/components/aria/ClassUsage";
import { Card, ErrorAlert, LabelledSelect, Loading } from "@/components/ui";

const ADMIN = ["admin"];
const link = "font-medium text-accent-700 underline-offset-2 hover:underline dark:text-accent-100";

/** The platform at a glance: accounts by role, the week's activity, contents, ARIA's cost per class. */
export function AdminDashboard() {
  const { allowed, user } = useRequireRole(ADMIN);
  const { revision } = useNotifications();
  const { data, error } = useLoader(allowed, () => api.GET("/api/dashboard/admin"), revision);

  if (!allowed) return <Loading />;
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-bold">Administration</h1>
        <p className="text-slate-700 dark:text-slate-300">Bonjour {user?.firstName}</p>
      </div>
      <ErrorAlert message={error} />
      {/* ARIA's section comes with the overview, not before it: the overview arriving
          second pushed it down, under the pointer (tests/e2e/layout.spec.ts, l4). */}
      {!data && !error ? (
        <Loading />
      ) : (
        <>
          {data && <Overview d={data} />}
          <AriaCost enabled={allowed} />
        </>
      )}
    </div>
  );
}

function Stat({ label, value, testId }: { label: string; value: number; testId?: string }) {
  return (
    <div>
      <dt className="text-sm text-slate-600 dark:text-slate-300">{label}</dt>
      <dd className="text-2xl font-bold" data-testid={testId}>
        {formatNumber(value)}
      </dd>
    </div>
  );
}

function Overview({ d }: { d: Schemas["AdminDashboard"] }) {
  const total = d.students + d.parents + d.teachers + d.admins;
  return (
    <div className="grid items-start gap-6 lg:grid-cols-2">
      <Card title="Comptes" id="comptes">
        <BarChart
          id="comptes-par-role"
          caption={`${formatNumber(total)} comptes, par rôle`}
          unit="Comptes"
          labelHeader="Rôle"
          bars={[
            { label: "Élèves", value: d.students },
            { label: "Parents", value: d.parents },
            { label: "Enseignants", value: d.teachers },
            { label: "Admins", value: d.admins },
          ]}
        />
        <p className="mt-3 text-slate-700 dark:text-slate-300">
          <span data-testid="inactive-accounts">{formatNumber(d.inactiveAccounts)}</span> compte{d.inactiveAccounts > 1 ? "s" : ""} désactivé
          {d.inactiveAccounts > 1 ? "s" : ""} ·{" "}
          <Link href="/admin/utilisateurs" className={link}>
            Gérer les utilisateurs
          </Link>{" "}
          ·{" "}
          <Link href="/admin/journal" className={link}>
            Journal d&apos;audit
          </Link>
        </p>
      </Card>
      <div className="space-y-6">
        <Card title="Activité des 7 derniers jours" id="activite">
          <dl className="grid grid-cols-1 gap-3 sm:grid-cols-3">
            <Stat label="Utilisateurs connectés" value={d.activeUsers7d} testId="active-users" />
            <Stat label="Inscriptions" value={d.registrations7d} />
            <Stat label="Copies rendues" value={d.attemptsSubmitted7d} />
          </dl>
        </Card>
        <Card title="Contenus" id="contenus">
          <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4">
            <Stat label="Classes" value={d.classes} />
            <Stat label="Cours publiés" value={d.coursesPublished} />
            <Stat label="Cours en brouillon" value={d.coursesDraft} />
            <Stat label="Évaluations" value={d.assessments} />
          </dl>
        </Card>
        <Card title="Notifications" id="notifications">
          <p className="text-slate-700 dark:text-slate-300">
            <span className="text-2xl font-bold text-slate-900 dark:text-slate-100">{formatNumber(d.notificationsPendingRelay)}</span> en attente d&apos;envoi
            en direct{" "}
            {d.notificationsPendingRelay === 0 ? "(tout est parti)." : "(elles partent dès que le service temps réel les reprend)."}
          </p>
        </Card>
      </div>
    </div>
  );
}

/**
 * ARIA's cost: the API's dashboard has none and ARIA reports it per class only
 * (GET /api/aria/classes/{id}/usage, today) — so one class at a time, chosen here.
 */
function AriaCost({ enabled }: { enabled: boolean }) {
  const { data, error } = useLoader(enabled, () => api.GET("/api/classes", { params: { query: { limit: 100 } } }));
  const active = data?.classes.filter((c) => !c.archived) ?? [];
  const [chosen, setChosen] = useState<number | null>(null);
  const cls = active.find((c) => c.id === chosen) ?? active[0];
  return (
    <Card title="ARIA aujourd'hui" id="aria">
      <p className="mb-3 text-slate-700 dark:text-slate-300">
        ARIA compte ses jetons et leur coût par classe.{" "}
        <Link href="/enseignant/aria" className={link}>
          Suivi d&apos;ARIA : signalements, conversations, budgets
        </Link>
      </p>
      <ErrorAlert message={error} />
      {!data && !error ? (
        <Loading />
      ) : !cls ? (
        <p className="text-slate-700 dark:text-slate-300">Aucune classe active.</p>
      ) : (
        <div className="space-y-4">
          <div className="sm:w-96">
            <LabelledSelect id="admin-aria-classe" label="Classe" value={cls.id} onChange={(e) => setChosen(Number(e.target.value))}>
              {active.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name} ({c.teacherName})
                </option>
              ))}
            </LabelledSelect>
          </div>
          <ClassUsage key={cls.id} classId={cls.id} className={cls.name} compact />
        </div>
      )}
    </Card>
  );
}
