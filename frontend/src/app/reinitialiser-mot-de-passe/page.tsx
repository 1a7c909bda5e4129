import type { Metadata } from "next";
import { Suspense } from "react";
import { ResetPasswordForm } from "./ResetPasswordForm";

export const metadata: Metadata = { title: "Nouveau mot de passe", referrer: "no-referrer" };

export default function ResetPasswordPage() {
  return (
    <div className="mx-auto max-w-md">
      <h1 className="mb-6 text-2xl font-bold">Choisir un nouveau mot de passe</h1>
      <Suspense>
        <ResetPasswordForm />
      </Suspense>
    </div>
  );
}
