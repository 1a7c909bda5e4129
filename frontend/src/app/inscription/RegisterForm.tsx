"use client";

import Link from "next/link";
import { useState } from "react";
import { useRouter } from "next/navigation";
import { errorMessage, fieldErrors, homeOf, publicApi, signIn } from "@/lib/api/client";
import { Button, Card, ErrorAlert, Field } from "@/components/ui";
import { classLevelOf } from "@/lib/format";

type Role = "student" | "parent";

export function RegisterForm() {
  const router = useRouter();
  const [role, setRole] = useState<Role>("student");
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const get = (k: string) => String(form.get(k) ?? "").trim();
    const email = get("email");
    const password = String(form.get("password") ?? "");
    const confirmPassword = String(form.get("confirmPassword") ?? "");
    setError(null);
    setFields({});
    // Checked here for a quick answer, and again by the API (which receives both).
    if (password !== confirmPassword) {
      setFields({ confirmPassword: "Les deux mots de passe ne sont pas identiques." });
      return;
    }
    // The API accepts a registration without it (the seed's contract); the web app
    // always asks it of students, since it decides whether a parent must consent.
    if (role === "student" && !get("dateOfBirth")) {
      setFields({ dateOfBirth: "Indique ta date de naissance." });
      return;
    }
    setBusy(true);
    const { error: apiError } = await publicApi.POST("/api/auth/register", {
      body: {
        email,
        password,
        confirmPassword,
        firstName: get("firstName"),
        lastName: get("lastName"),
        role,
        classLevel: role === "student" ? classLevelOf(get("classLevel")) : null,
        dateOfBirth: role === "student" ? get("dateOfBirth") || null : null,
        schoolName: get("schoolName") || null,
      },
    });
    if (apiError) {
      setError(errorMessage(apiError));
      setFields(fieldErrors(apiError));
      setBusy(false);
      return;
    }
    const result = await signIn(email, password);
    if ("role" in result) {
      // The dashboard says a confirmation link was mailed (EmailVerification).
      router.replace(homeOf(result.role));
    } else {
      setError(errorMessage(result));
      setBusy(false);
    }
  }

  return (
    <Card>
      <form onSubmit={onSubmit} className="flex flex-col gap-4" noValidate>
        <ErrorAlert message={error} />
        <fieldset className="flex flex-col gap-2">
          <legend className="mb-1 font-medium">Je suis</legend>
          <div className="flex flex-wrap gap-3">
            {(
              [
                ["student", "Élève"],
                ["parent", "Parent"],
              ] as const
            ).map(([value, label]) => (
              <label
                key={value}
                className="flex cursor-pointer items-center gap-2 rounded-md border border-slate-300 px-4 py-2 has-[:checked]:border-accent-700 has-[:checked]:bg-accent-50 dark:border-slate-600 dark:has-[:checked]:bg-slate-800"
              >
                <input type="radio" name="role" value={value} checked={role === value} onChange={() => setRole(value)} />
                {label}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="grid gap-4 sm:grid-cols-2">
          <Field id="firstName" name="firstName" label="Prénom" autoComplete="given-name" required error={fields.firstName} />
          <Field id="lastName" name="lastName" label="Nom" autoComplete="family-name" required error={fields.lastName} />
        </div>
        <Field id="email" name="email" type="email" label="Adresse e-mail" autoComplete="email" required error={fields.email} />
        <Field
          id="password"
          name="password"
          type="password"
          label="Mot de passe"
          autoComplete="new-password"
          required
          hint="Au moins 8 caractères, sans votre nom ni votre adresse e-mail."
          error={fields.password}
        />
        <Field
          id="confirmPassword"
          name="confirmPassword"
          type="password"
          label="Confirmer le mot de passe"
          autoComplete="new-password"
          required
          error={fields.confirmPassword}
        />
        {role === "student" && (
          <Field
            id="dateOfBirth"
            name="dateOfBirth"
            type="date"
            label="Date de naissance"
            autoComplete="bday"
            required
            max={new Date().toISOString().slice(0, 10)}
            hint="Avant 15 ans, ARIA et la messagerie attendent l'accord d'un parent lié à ton compte."
            error={fields.dateOfBirth}
          />
        )}
        {role === "student" && (
          <div className="flex flex-col gap-1">
            <label htmlFor="classLevel" className="font-medium">
              Niveau
            </label>
            <select
              id="classLevel"
              name="classLevel"
              defaultValue="terminale"
              aria-invalid={fields.classLevel ? true : undefined}
              className="rounded-md border border-slate-400 bg-white px-3 py-2 dark:border-slate-600 dark:bg-slate-950"
            >
              <option value="premiere">Première</option>
              <option value="terminale">Terminale</option>
            </select>
            {fields.classLevel && <p className="text-sm text-red-700">{fields.classLevel}</p>}
          </div>
        )}
        <Field id="schoolName" name="schoolName" label="Lycée (facultatif)" autoComplete="organization" error={fields.schoolName} />
        <Button type="submit" disabled={busy}>
          {busy ? "Création du compte…" : "Créer un compte"}
        </Button>
        <p className="text-slate-700 dark:text-slate-300">
          Déjà inscrit ?{" "}
          <Link href="/connexion" className="font-medium text-accent-700 underline dark:text-accent-100">
            Se connecter
          </Link>
        </p>
      </form>
    </Card>
  );
}
