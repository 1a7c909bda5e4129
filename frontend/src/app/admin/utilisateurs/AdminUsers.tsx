"use client";

import Link from "next/link";
import { useState } from "react";
import { api, errorMessage, fieldErrors, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { classLevelOf, formatDate, formatDateTime, type ClassLevel } from "@/lib/format";
import { useRequireRole } from "@/components/session";
import { ConfirmDialog } from "@/components/confirm";
import { DeleteUser, PendingDeletions } from "./Deletions";
import { Button, Card, ErrorAlert, Field, Loading, SMALL_SECONDARY_BUTTON, SuccessNote } from "@/components/ui";

const ADMIN = ["admin"];
const PAGE_SIZE = 20;
type Role = Schemas["Role"];
type User = Schemas["UserView"];

const ROLE_LABELS: Record<Role, string> = { student: "Élève", parent: "Parent", teacher: "Enseignant", admin: "Administrateur" };
const ROLES = Object.keys(ROLE_LABELS) as Role[];
const select =
  "rounded-md border border-slate-400 bg-white px-3 py-2 text-slate-900 dark:border-slate-600 dark:bg-slate-950 dark:text-slate-100";
type Filters = { q: string; role: Role | ""; status: "" | "active" | "inactive"; page: number };

/** Every account: search, filters, pages; role and status changes; a new teacher account. */
export function AdminUsers() {
  const { allowed, user: me } = useRequireRole(ADMIN);
  const [filters, setFilters] = useState<Filters>({ q: "", role: "", status: "", page: 1 });
  const [version, setVersion] = useState(0);
  const { data, error, reload } = useLoader(
    allowed,
    () =>
      api.GET("/api/users", {
        params: {
          query: {
            q: filters.q || undefined,
            role: filters.role || undefined,
            isActive: filters.status === "" ? undefined : filters.status === "active",
            page: filters.page,
            limit: PAGE_SIZE,
          },
        },
      }),
    `${JSON.stringify(filters)}:${version}`,
  );

  if (!allowed) return <Loading />;
  const users = data?.users ?? [];
  const pages = Number(data?.pagination.pages ?? 1);
  const total = Number(data?.pagination.total ?? 0);
  return (
    <div className="space-y-6">
      <nav aria-label="Fil d'Ariane" className="text-sm">
        <Link href="/admin" className="text-accent-700 underline-offset-2 hover:underline dark:text-accent-100">
          ← Administration
        </Link>
      </nav>
      <h1 className="text-2xl font-bold">Utilisateurs</h1>
      <div className="grid items-start gap-6 lg:grid-cols-[2fr_1fr]">
        <Card title="Comptes" id="comptes">
          <SearchForm initial={filters} onSearch={(f) => setFilters({ ...f, page: 1 })} />
          <div className="mt-4 space-y-2">
            <ErrorAlert message={error} />
            <p role="status" className="text-sm text-slate-700 dark:text-slate-300">
              {data ? `${total} compte${total > 1 ? "s" : ""}${pages > 1 ? ` · page ${filters.page} sur ${pages}` : ""}` : ""}
            </p>
          </div>
          {!data && !error ? (
            <Loading />
          ) : users.length === 0 ? (
            <p className="mt-3 text-slate-700 dark:text-slate-300">Aucun compte ne correspond à cette recherche.</p>
          ) : (
            <ul className="mt-2 divide-y divide-slate-100 dark:divide-slate-800" data-testid="user-list">
              {users.map((u) => (
                <UserRow key={u.id} user={u} self={u.id === me?.id} onChanged={reload} />
              ))}
            </ul>
          )}
          {pages > 1 && (
            <nav aria-label="Pages" className="mt-4 flex items-center justify-between gap-2">
              <button type="button" className={SMALL_SECONDARY_BUTTON} disabled={filters.page <= 1} onClick={() => setFilters({ ...filters, page: filters.page - 1 })}>
                ← Page précédente
              </button>
              <button type="button" className={SMALL_SECONDARY_BUTTON} disabled={filters.page >= pages} onClick={() => setFilters({ ...filters, page: filters.page + 1 })}>
                Page suivante →
              </button>
            </nav>
          )}
        </Card>
        <div className="space-y-6">
          <NewAccount onCreated={() => setVersion((v) => v + 1)} />
          <PendingDeletions version={data} onChanged={reload} />
        </div>
      </div>
    </div>
  );
}

function SearchForm({ initial, onSearch }: { initial: Filters; onSearch: (f: Filters) => void }) {
  const [q, setQ] = useState(initial.q);
  const [role, setRole] = useState<Filters["role"]>(initial.role);
  const [status, setStatus] = useState<Filters["status"]>(initial.status);
  return (
    <form
      role="search"
      aria-label="Chercher un compte"
      onSubmit={(e) => {
        e.preventDefault();
        onSearch({ q: q.trim(), role, status, page: 1 });
      }}
      className="grid gap-3 sm:grid-cols-[1fr_auto_auto_auto] sm:items-end"
    >
      <Field id="recherche" label="Nom ou adresse e-mail" type="search" value={q} maxLength={100} onChange={(e) => setQ(e.target.value)} />
      <div className="flex flex-col gap-1">
        <label htmlFor="filtre-role" className="font-medium">
          Rôle
        </label>
        <select
          id="filtre-role"
          className={select}
          value={role}
          onChange={(e) => {
            const next = e.target.value as Filters["role"];
            setRole(next);
            onSearch({ q: q.trim(), role: next, status, page: 1 });
          }}
        >
          <option value="">Tous</option>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {ROLE_LABELS[r]}
            </option>
          ))}
        </select>
      </div>
      <div className="flex flex-col gap-1">
        <label htmlFor="filtre-statut" className="font-medium">
          Statut
        </label>
        <select
          id="filtre-statut"
          className={select}
          value={status}
          onChange={(e) => {
            const next = e.target.value as Filters["status"];
            setStatus(next);
            onSearch({ q: q.trim(), role, status: next, page: 1 });
          }}
        >
          <option value="">Tous</option>
          <option value="active">Actifs</option>
          <option value="inactive">Désactivés</option>
        </select>
      </div>
      <Button type="submit">Chercher</Button>
    </form>
  );
}

function UserRow({ user, self, onChanged }: { user: User; self: boolean; onChanged: () => void }) {
  const name = `${user.firstName} ${user.lastName}`;
  const [role, setRole] = useState<Role>(user.role as Role);
  const [level, setLevel] = useState<ClassLevel>("terminale");
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [editing, setEditing] = useState(false);
  const roleId = `role-${user.id}`;

  async function changeRole(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setNote(null);
    const body: Schemas["RoleRequest"] = role === "student" ? { role, classLevel: level } : { role };
    const { data, error: apiError } = await api.PATCH("/api/users/{id}/role", { params: { path: { id: user.id } }, body });
    setBusy(false);
    if (data) {
      setNote(`${name} est maintenant ${ROLE_LABELS[data.user.role as Role]?.toLowerCase() ?? data.user.role}.`);
      onChanged();
    } else {
      const fields = fieldErrors(apiError);
      setError(fields.classLevel ?? fields.role ?? errorMessage(apiError));
    }
  }

  return (
    <li className="py-3" data-testid="user-row" data-email={user.email}>
      <div className="flex flex-wrap items-start justify-between gap-x-4 gap-y-2">
        <div className="min-w-0">
          <p className="font-medium">
            {name}
            {self && <span className="text-sm font-normal text-slate-600 dark:text-slate-300"> (vous)</span>}
          </p>
          <p className="break-all text-sm text-slate-700 dark:text-slate-300">{user.email}</p>
          <p className="text-sm text-slate-600 dark:text-slate-300">
            {ROLE_LABELS[user.role as Role] ?? user.role} · inscrit le {formatDate(user.createdAt)}
            {user.lastLoginAt ? ` · dernière connexion ${formatDateTime(user.lastLoginAt)}` : " · jamais connecté"}
          </p>
        </div>
        <div className="flex flex-wrap items-center gap-2">
          {!self && (
            <form onSubmit={changeRole} className="flex flex-wrap items-center gap-2">
              <label htmlFor={roleId} className="sr-only">
                Rôle de {name}
              </label>
              <select id={roleId} className={`${select} py-1.5`} value={role} onChange={(e) => setRole(e.target.value as Role)}>
                {ROLES.map((r) => (
                  <option key={r} value={r}>
                    {ROLE_LABELS[r]}
                  </option>
                ))}
              </select>
              {role === "student" && user.role !== "student" && (
                <>
                  <label htmlFor={`${roleId}-niveau`} className="sr-only">
                    Niveau de {name}
                  </label>
                  <select id={`${roleId}-niveau`} className={`${select} py-1.5`} value={level} onChange={(e) => setLevel(classLevelOf(e.target.value) ?? "terminale")}>
                    <option value="premiere">Première</option>
                    <option value="terminale">Terminale</option>
                  </select>
                </>
              )}
              <button type="submit" className={SMALL_SECONDARY_BUTTON} disabled={busy || role === user.role}>
                Changer le rôle<span className="sr-only"> de {name}</span>
              </button>
            </form>
          )}
          <span
            data-testid="user-status"
            className={`rounded-full px-2 py-0.5 text-sm font-medium ${user.isActive ? "bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100" : "bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100"}`}
          >
            {user.isActive ? "Actif" : "Désactivé"}
          </span>
          {!self && <StatusButton user={user} name={name} onDone={onChanged} />}
          <button type="button" className={SMALL_SECONDARY_BUTTON} aria-expanded={editing} onClick={() => setEditing(!editing)}>
            {editing ? "Fermer" : "Modifier"}
            <span className="sr-only"> le compte de {name}</span>
          </button>
        </div>
      </div>
      <div className="mt-2 space-y-2">
        <ErrorAlert message={error} />
        <SuccessNote message={note} />
      </div>
      {editing && (
        <EditUser
          user={user}
          onSaved={(message) => {
            setEditing(false);
            setNote(message);
            onChanged();
          }}
        />
      )}
      {editing && !self && (
        <DeleteUser
          userId={user.id}
          name={name}
          onRequested={(message) => {
            setEditing(false);
            setNote(message);
            onChanged();
          }}
        />
      )}
    </li>
  );
}

/** An admin edits an account's name, address, phone and, for a student, level and school. */
function EditUser({ user, onSaved }: { user: User; onSaved: (message: string) => void }) {
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const student = user.role === "student";
  const id = (f: string) => `edit-${user.id}-${f}`;
  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const text = (k: string) => String(form.get(k) ?? "");
    const body: Schemas["UserUpdate"] = {
      firstName: text("firstName"),
      lastName: text("lastName"),
      email: text("email"),
      phone: text("phone"),
      ...(student ? { classLevel: classLevelOf(form.get("classLevel")), schoolName: text("schoolName") } : {}),
    };
    setBusy(true);
    setError(null);
    setFields({});
    const { data, error: apiError } = await api.PATCH("/api/users/{id}", { params: { path: { id: user.id } }, body });
    setBusy(false);
    if (data) onSaved(`Compte de ${data.user.firstName} ${data.user.lastName} enregistré.`);
    else {
      const f = fieldErrors(apiError);
      setFields(f);
      if (Object.keys(f).length === 0) setError(errorMessage(apiError));
    }
  }
  return (
    <form onSubmit={onSubmit} className="mt-3 grid gap-3 rounded-md border border-slate-200 p-3 sm:grid-cols-2 dark:border-slate-700" noValidate aria-label={`Modifier le compte de ${user.firstName} ${user.lastName}`}>
      <div className="sm:col-span-2">
        <ErrorAlert message={error} />
      </div>
      <Field id={id("prenom")} name="firstName" label="Prénom" defaultValue={user.firstName} error={fields.firstName} maxLength={100} />
      <Field id={id("nom")} name="lastName" label="Nom" defaultValue={user.lastName} error={fields.lastName} maxLength={100} />
      <Field id={id("email")} name="email" type="email" label="Adresse e-mail" defaultValue={user.email} error={fields.email} hint="Une nouvelle adresse devra être confirmée." />
      <Field id={id("tel")} name="phone" type="tel" label="Téléphone (facultatif)" defaultValue={user.phone ?? ""} error={fields.phone} />
      {student && (
        <>
          <div className="flex flex-col gap-1">
            <label htmlFor={id("niveau")} className="font-medium">
              Niveau
            </label>
            <select id={id("niveau")} name="classLevel" className={select} defaultValue={user.classLevel ?? "terminale"}>
              <option value="premiere">Première</option>
              <option value="terminale">Terminale</option>
            </select>
            {fields.classLevel && <p className="text-sm text-red-700 dark:text-red-300">{fields.classLevel}</p>}
          </div>
          <Field id={id("lycee")} name="schoolName" label="Établissement (facultatif)" defaultValue={user.schoolName ?? ""} error={fields.schoolName} maxLength={200} />
        </>
      )}
      <Button type="submit" disabled={busy} className="self-start">
        Enregistrer
      </Button>
    </form>
  );
}

function StatusButton({ user, name, onDone }: { user: User; name: string; onDone: () => void }) {
  const disable = user.isActive;
  return (
    <ConfirmDialog
      trigger={
        <button type="button" className={SMALL_SECONDARY_BUTTON}>
          {disable ? "Désactiver" : "Réactiver"}
          <span className="sr-only"> le compte de {name}</span>
        </button>
      }
      title={disable ? `Désactiver le compte de ${name} ?` : `Réactiver le compte de ${name} ?`}
      description={
        disable
          ? `${name} sera déconnecté(e) tout de suite, sur tous ses appareils, et ne pourra plus se connecter tant que le compte restera désactivé. Rien n'est supprimé : vous pourrez le réactiver.`
          : `${name} pourra de nouveau se connecter avec son mot de passe.`
      }
      confirmLabel={disable ? "Désactiver" : "Réactiver"}
      destructive={disable}
      onConfirm={async () => {
        const { error } = await api.PATCH("/api/users/{id}/status", { params: { path: { id: user.id } }, body: { isActive: !disable } });
        if (error) return errorMessage(error);
        onDone();
      }}
    />
  );
}

function NewAccount({ onCreated }: { onCreated: () => void }) {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const body: Schemas["NewAccount"] = {
      firstName: String(f.get("firstName") ?? "").trim(),
      lastName: String(f.get("lastName") ?? "").trim(),
      email: String(f.get("email") ?? "").trim(),
      password: String(f.get("password") ?? ""),
      role: String(f.get("role") ?? "teacher") as Role,
    };
    setBusy(true);
    setError(null);
    setErrors({});
    setNote(null);
    const { data, error: apiError } = await api.POST("/api/users", { body });
    setBusy(false);
    if (data) {
      setNote(`Compte créé pour ${body.firstName} ${body.lastName} (${body.email}). Transmettez-lui son mot de passe provisoire.`);
      form.reset();
      onCreated();
    } else {
      setErrors(fieldErrors(apiError));
      setError(errorMessage(apiError));
    }
  }

  return (
    <Card title="Nouveau compte" id="nouveau-compte">
      <form onSubmit={onSubmit} className="flex flex-col gap-3" noValidate>
        <p className="text-sm text-slate-700 dark:text-slate-300">
          Les enseignants et les administrateurs n&apos;ont pas d&apos;inscription en ligne : leur compte se crée ici. Les élèves et les parents s&apos;inscrivent
          eux-mêmes.
        </p>
        <ErrorAlert message={error} />
        <SuccessNote message={note} />
        <div className="flex flex-col gap-1">
          <label htmlFor="nouveau-role" className="font-medium">
            Rôle
          </label>
          <select id="nouveau-role" name="role" defaultValue="teacher" className={select}>
            <option value="teacher">Enseignant</option>
            <option value="admin">Administrateur</option>
          </select>
        </div>
        <Field id="nouveau-prenom" name="firstName" label="Prénom" autoComplete="off" error={errors.firstName} required />
        <Field id="nouveau-nom" name="lastName" label="Nom" autoComplete="off" error={errors.lastName} required />
        <Field id="nouveau-email" name="email" type="email" label="Adresse e-mail" autoComplete="off" error={errors.email} required />
        <Field
          id="nouveau-mdp"
          name="password"
          type="text"
          label="Mot de passe provisoire"
          hint="Au moins 8 caractères, ni courant ni tiré du nom ou de l'adresse."
          autoComplete="new-password"
          error={errors.password}
          required
        />
        <Button type="submit" disabled={busy}>
          {busy ? "Création…" : "Créer le compte"}
        </Button>
      </form>
    </Card>
  );
}
