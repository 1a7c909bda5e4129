import type { Metadata } from "next";
import { Suspense } from "react";
import { Unsubscribe } from "./Unsubscribe";

export const metadata: Metadata = { title: "Se désabonner du récapitulatif", referrer: "no-referrer" };

export default function UnsubscribePage() {
  return (
    <div className="mx-auto max-w-md">
      <h1 className="mb-6 text-2xl font-bold">Se désabonner du récapitulatif</h1>
      <Suspense>
        <Unsubscribe />
      </Suspense>
    </div>
  );
}
