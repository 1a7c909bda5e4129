"use client";

import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { signOut } from "@/lib/api/client";
import { useSession } from "./session";
import { ConnectionBanner, ConnectionState, NotificationBell } from "./NotificationBell";
import { MessagesBadge } from "./MessagesBadge";

const NAV: Record<string, { href: string; label: string }[]> = {
  student: [
    { href: "/eleve", label: "Tableau de bord" },
    { href: "/eleve/cours", label: "Mes cours" },
    { href: "/eleve/evaluations", label: "Évaluations" },
    { href: "/eleve/aria", label: "ARIA" },
    { href: "/messages", label: "Messages" },
  ],
  parent: [
    { href: "/parent", label: "Mes enfants" },
    { href: "/messages", label: "Messages" },
  ],
  teacher: [
    { href: "/enseignant", label: "Classes" },
    { href: "/enseignant/cours", label: "Mes cours" },
    { href: "/enseignant/evaluations", label: "Évaluations" },
    { href: "/enseignant/aria", label: "ARIA" },
    { href: "/messages", label: "Messages" },
  ],
  admin: [
    { href: "/admin", label: "Administration" },
    { href: "/admin/utilisateurs", label: "Utilisateurs" },
    { href: "/admin/journal", label: "Journal" },
    { href: "/enseignant/aria", label: "ARIA" },
  ],
};

export function AppHeader() {
  const { user, status } = useSession();
  const pathname = usePathname();
  const router = useRouter();
  const links = user ? (NAV[user.role] ?? []) : [];
  // The current link: the longest one the path is in (/eleve/cours/12 → "Mes cours").
  const current = links
    .filter((l) => pathname === l.href || pathname.startsWith(`${l.href}/`))
    .sort((a, b) => b.href.length - a.href.length)[0]?.href;

  return (
    <header className="border-b border-slate-200 bg-white print:hidden dark:border-slate-800 dark:bg-slate-900">
      {/* md:min-h-16: the row is as tall before the session is known (the logo alone) as
          after (the links): the page below must not move when it arrives. */}
      <div className="mx-auto flex w-full max-w-6xl flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3 sm:px-6 md:min-h-16">
        <Link href="/" className="mr-auto text-lg font-semibold text-accent-700 md:mr-0 dark:text-accent-100">
          Nexus Réussite
        </Link>
        {/* On a phone the links are a row of their own under the logo, scrolled sideways
            when they do not fit (always visible, one tap away); from md on, beside it. */}
        {user && (
          <nav aria-label="Navigation principale" className="order-last w-full md:order-none md:w-auto md:flex-1">
            <ul className="flex gap-1 overflow-x-auto whitespace-nowrap md:flex-wrap">
              {links.map((l) => (
                <li key={l.href}>
                  <Link
                    href={l.href}
                    aria-current={l.href === current ? (pathname === l.href ? "page" : "true") : undefined}
                    data-current={l.href === current ? "" : undefined}
                    className="inline-block rounded-md px-3 py-2 text-slate-700 hover:bg-slate-100 data-current:bg-accent-50 data-current:font-semibold data-current:text-accent-800 dark:text-slate-200 dark:hover:bg-slate-800"
                  >
                    {l.label}
                    {l.href === "/messages" && <MessagesBadge />}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
        )}
        {!user && <div className="hidden flex-1 md:block" />}
        {user && (
          <div className="flex flex-wrap items-center justify-end gap-2">
            <ConnectionState />
            <NotificationBell />
            {/* The account's settings: data, e-mails, deletion (src/app/parametres/layout.tsx). */}
            <Link
              href="/parametres/donnees"
              aria-current={pathname.startsWith("/parametres/") ? "true" : undefined}
              className="rounded-md px-2 py-2 text-sm whitespace-nowrap text-slate-700 hover:bg-slate-100 aria-[current=true]:font-semibold aria-[current=true]:text-accent-800 dark:text-slate-200 dark:hover:bg-slate-800"
            >
              Mon compte
            </Link>
            <button
              type="button"
              onClick={async () => {
                await signOut();
                router.replace("/connexion");
              }}
              className="rounded-md border border-slate-300 px-3 py-2 text-sm text-slate-800 hover:bg-slate-100 dark:border-slate-600 dark:text-slate-100 dark:hover:bg-slate-800"
            >
              Se déconnecter
            </button>
          </div>
        )}
        {!user && status === "signed-out" && (
          <nav aria-label="Compte" className="flex gap-2">
            <Link href="/connexion" className="rounded-md px-3 py-2 text-slate-800 hover:bg-slate-100 dark:text-slate-100">
              Se connecter
            </Link>
            <Link href="/inscription" className="rounded-md bg-accent-700 px-3 py-2 text-white hover:bg-accent-800">
              Créer un compte
            </Link>
          </nav>
        )}
      </div>
      {user && <ConnectionBanner />}
    </header>
  );
}
