// French labels for the courses' categories (docs/LEARNING.md); the levels' are
// CLASS_LEVELS in format.ts.

export const CATEGORIES: Record<string, string> = {
  algorithmique: "Algorithmique",
  architecture: "Architecture",
  "bases-de-donnees": "Bases de données",
  donnees: "Représentation des données",
  programmation: "Programmation",
  reseaux: "Réseaux",
  securite: "Sécurité",
  structures: "Structures de données",
  systemes: "Systèmes d'exploitation",
  web: "Web",
};

export function categoryLabel(c: string | null | undefined): string {
  if (!c) return "";
  return CATEGORIES[c] ?? c.charAt(0).toUpperCase() + c.slice(1).replace(/-/g, " ");
}

export function duration(minutes: number | null | undefined): string {
  if (!minutes) return "";
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h ? `${h} h${m ? ` ${String(m).padStart(2, "0")}` : ""}` : `${m} min`;
}
