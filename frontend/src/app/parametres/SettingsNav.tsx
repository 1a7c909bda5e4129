"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";

const PAGES = [
  { href: "/parametres/donnees", label: "Mes données" },
  { href: "/parametres/notifications", label: "E-mails" },
  { href: "/parametres/compte", label: "Supprimer mon compte" },
];

export function SettingsNav() {
  const pathname = usePathname();
  return (
    <nav aria-label="Mon compte" className="mx-auto max-w-2xl">
      <ul className="flex flex-wrap gap-2">
        {PAGES.map((p) => (
          <li key={p.href}>
            <Link
              href={p.href}
              aria-current={pathname === p.href ? "page" : undefined}
              className="inline-block rounded-full border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-800 hover:bg-slate-100 aria-[current=page]:border-accent-700 aria-[current=page]:bg-accent-700 aria-[current=page]:text-white dark:border-slate-600 dark:text-slate-100 dark:hover:bg-slate-800"
            >
              {p.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
