"use client";

import { useRequireRole } from "./session";
import { Card, Loading } from "./ui";

const ROLES: Record<string, string[]> = { teacher: ["teacher"], admin: ["admin"] };

export function Placeholder({ role, title }: { role: "teacher" | "admin"; title: string }) {
  const { allowed, user } = useRequireRole(ROLES[role]!);
  if (!allowed) return <Loading />;
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-bold">{title}</h1>
      <Card>
        <p>
          Bonjour {user?.firstName}. Cet espace arrive bientôt dans l&apos;application web. En attendant, toutes les
          fonctions sont disponibles par l&apos;API.
        </p>
      </Card>
    </div>
  );
}
