"use client";

// The digest mail: how often (never, daily, weekly) and about what (grades,
// assessments, messages). GET/PUT /api/me/notification-preferences.
import { useState } from "react";
import Link from "next/link";
import { api, errorMessage, fieldErrors, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { useRequireRole } from "@/components/session";
import { Button, Card, ErrorAlert, Loading, SuccessNote } from "@/components/ui";

const ANYONE = ["student", "parent", "teacher", "admin"];
type Categories = Schemas["Categories"];

const FREQUENCIES: { value: string; label: string; hint: string }[] = [
  { value: "daily", label: "Chaque jour", hint: "Un e-mail par jour s'il y a du nouveau." },
  { value: "weekly", label: "Chaque semaine", hint: "Un e-mail par semaine s'il y a du nouveau." },
  { value: "off", label: "Jamais", hint: "Aucun récapitulatif par e-mail." },
];

const CATEGORIES: { key: keyof Categories; label: string }[] = [
  { key: "grades", label: "Nouvelles notes" },
  { key: "assessments", label: "Évaluations publiées ou bientôt closes" },
  { key: "messages", label: "Messages non lus" },
];

export function NotificationPreferences() {
  const { allowed } = useRequireRole(ANYONE);
  const { data, error: loadError } = useLoader(allowed, () => api.GET("/api/me/notification-preferences"));
  if (!allowed) return <Loading />;
  if (!data) return loadError ? <ErrorAlert message={loadError} /> : <Loading />;
  return <PreferencesForm initial={data.preferences} />;
}

function PreferencesForm({ initial }: { initial: Schemas["Preferences"] }) {
  const [frequency, setFrequency] = useState(initial.digestFrequency);
  const [categories, setCategories] = useState<Categories>(initial.categories);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setNote(null);
    const { error: apiError } = await api.PUT("/api/me/notification-preferences", { body: { digestFrequency: frequency, categories } });
    setBusy(false);
    if (apiError) {
      const fields = fieldErrors(apiError);
      setError(fields.digestFrequency ?? errorMessage(apiError));
    } else setNote("Préférences enregistrées.");
  }

  return (
    <div className="mx-auto max-w-2xl space-y-6">
      <h1 className="text-2xl font-bold">E-mails et notifications</h1>
      <Card title="Récapitulatif par e-mail" id="recapitulatif">
        <form onSubmit={onSubmit} className="flex flex-col gap-4" noValidate>
          <ErrorAlert message={error} />
          <SuccessNote message={note} />
          <fieldset className="flex flex-col gap-2">
            <legend className="mb-1 font-medium">Fréquence</legend>
            {FREQUENCIES.map((f) => (
              <label key={f.value} className="flex items-start gap-2">
                <input type="radio" name="frequency" value={f.value} checked={frequency === f.value} onChange={() => setFrequency(f.value)} className="mt-1" />
                <span>
                  {f.label}
                  <span className="block text-sm text-slate-700 dark:text-slate-300">{f.hint}</span>
                </span>
              </label>
            ))}
          </fieldset>
          <fieldset className="flex flex-col gap-2" disabled={frequency === "off"}>
            <legend className="mb-1 font-medium">Sujets du récapitulatif</legend>
            {CATEGORIES.map((c) => (
              <label key={c.key} className="flex items-center gap-2">
                <input type="checkbox" checked={categories[c.key]} onChange={(e) => setCategories({ ...categories, [c.key]: e.currentTarget.checked })} />
                {c.label}
              </label>
            ))}
          </fieldset>
          <p className="text-sm text-slate-700 dark:text-slate-300">
            Le récapitulatif ne reprend que ce que vous n&apos;avez pas encore lu dans l&apos;application. Chaque e-mail contient un lien pour se désabonner sans se
            connecter.
          </p>
          <Button type="submit" disabled={busy} className="self-start">
            Enregistrer
          </Button>
        </form>
      </Card>
      <p className="text-sm">
        <Link href="/parametres/compte" className="underline">
          Supprimer mon compte
        </Link>
      </p>
    </div>
  );
}
