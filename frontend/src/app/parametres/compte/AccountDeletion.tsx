"use client";

// "Supprimer mon compte": POST /api/me/deletion with the password typed again. The
// account is disabled at once and erased after the grace period (docs/PRIVACY.md).
import { useRouter } from "next/navigation";
import { api, signOut } from "@/lib/api/client";
import { usePasswordConfirmation } from "@/lib/usePasswordConfirmation";
import { useRequireRole } from "@/components/session";
import { ConfirmDialog } from "@/components/confirm";
import { Button, Card, Field, Loading } from "@/components/ui";

const ANYONE = ["student", "parent", "teacher", "admin"];

export function AccountDeletion() {
  const { allowed } = useRequireRole(ANYONE);
  const router = useRouter();
  const deletion = usePasswordConfirmation(
    (password) => api.POST("/api/me/deletion", { body: { password } }),
    async () => {
      await signOut();
      router.replace("/connexion?suppression=demandee");
    },
  );
  if (!allowed) return <Loading />;

  return (
    <div className="mx-auto max-w-2xl space-y-6">
      <h1 className="text-2xl font-bold">Mon compte</h1>
      <Card title="Supprimer mon compte" id="suppression">
        <div className="space-y-3 text-slate-700 dark:text-slate-300">
          <p>
            Votre compte est <strong>désactivé immédiatement</strong> : vous êtes déconnecté partout et personne ne peut plus s&apos;y
            connecter.
          </p>
          <p>
            Il est <strong>effacé définitivement 30 jours plus tard</strong> : profil, adresse e-mail, date de naissance, progression,
            conversations avec ARIA, notifications et liens avec vos parents. Vos messages envoyés à d&apos;autres sont remplacés par
            « message supprimé ».
          </p>
          <p>Vos notes restent, sans votre nom, dans les statistiques de vos classes : elles ne peuvent plus être reliées à vous.</p>
          <p>
            D&apos;ici là, vous pouvez annuler : en vous connectant, la page de connexion vous indique la date d&apos;effacement et la
            marche à suivre.
          </p>
        </div>
        <form
          className="mt-4 flex flex-col gap-4"
          noValidate
          onSubmit={deletion.onSubmit}
        >
          <Field
            id="delete-password"
            label="Mot de passe"
            type="password"
            autoComplete="current-password"
            value={deletion.password}
            onChange={(e) => deletion.setPassword(e.target.value)}
            error={deletion.error}
            hint="Saisissez à nouveau votre mot de passe pour confirmer."
          />
          <Button type="submit" className="self-start">
            Supprimer mon compte
          </Button>
        </form>
        <ConfirmDialog
          open={deletion.confirming}
          onOpenChange={deletion.setConfirming}
          title="Supprimer votre compte ?"
          description="Votre compte sera désactivé tout de suite et effacé définitivement dans 30 jours."
          confirmLabel="Oui, supprimer mon compte"
          destructive
          onConfirm={deletion.confirm}
        />
      </Card>
    </div>
  );
}
