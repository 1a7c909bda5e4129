import type { Metadata } from "next";
import { Suspense } from "react";
import { VerifyEmail } from "./VerifyEmail";

export const metadata: Metadata = { title: "Confirmation de l'adresse e-mail", referrer: "no-referrer" };

export default function VerifyEmailPage() {
  return (
    <div className="mx-auto max-w-md">
      <h1 className="mb-6 text-2xl font-bold">Confirmer mon adresse e-mail</h1>
      <Suspense>
        <VerifyEmail />
      </Suspense>
    </div>
  );
}
