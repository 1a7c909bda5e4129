import type { Metadata } from "next";
import { Suspense } from "react";
import { SignInForm } from "./SignInForm";

export const metadata: Metadata = { title: "Se connecter" };

export default function SignInPage() {
  return (
    <div className="mx-auto max-w-md">
      <h1 className="mb-6 text-2xl font-bold">Se connecter</h1>
      <Suspense>
        <SignInForm />
      </Suspense>
    </div>
  );
}
