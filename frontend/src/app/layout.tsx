import type { Metadata, Viewport } from "next";
import { headers } from "next/headers";
import "./globals.css";
import { Providers } from "@/components/Providers";
import { AppHeader } from "@/components/AppHeader";

export const metadata: Metadata = {
  title: { default: "Nexus Réussite", template: "%s · Nexus Réussite" },
  description: "NSI au lycée : cours, évaluations et suivi pour les élèves, les parents et les enseignants.",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  // Reading the request makes every page render per request: the nonce of src/proxy.ts
  // must be new each time (a prerendered page would carry a stale one).
  await headers();
  return (
    <html lang="fr">
      <body className="min-h-screen">
        <a
          href="#contenu"
          className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:text-accent-800"
        >
          Aller au contenu
        </a>
        <Providers>
          <AppHeader />
          <main id="contenu" className="mx-auto w-full max-w-6xl px-4 py-6 sm:px-6">
            {children}
          </main>
        </Providers>
      </body>
    </html>
  );
}
