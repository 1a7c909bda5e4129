// Short French times for the chat (Europe/Paris, 24 h): a message of today shows its
// time only, an older one its day too. Non-breaking spaces keep "18 h 40" on one line.
const TZ = "Europe/Paris";
const day = new Intl.DateTimeFormat("fr-FR", { year: "numeric", month: "2-digit", day: "2-digit", timeZone: TZ });
const time = new Intl.DateTimeFormat("fr-FR", { hour: "2-digit", minute: "2-digit", timeZone: TZ });
const shortDay = new Intl.DateTimeFormat("fr-FR", { day: "numeric", month: "short", timeZone: TZ });
const longDay = new Intl.DateTimeFormat("fr-FR", { weekday: "long", day: "numeric", month: "long", timeZone: TZ });

const NBSP = "\u00a0";

function hours(d: Date): string {
  return time.format(d).replace(":", `${NBSP}h${NBSP}`);
}

/** "18 h 40" today, else "mardi 1 décembre à 18 h 40". */
export function messageTime(iso: string, now: Date = new Date()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  if (day.format(d) === day.format(now)) return hours(d);
  return `${longDay.format(d)} à ${hours(d)}`;
}

/** "18 h 40" today, else "1 déc." (the conversation list). */
export function listTime(iso: string, now: Date = new Date()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  if (day.format(d) === day.format(now)) return hours(d);
  return shortDay.format(d).replace(" ", NBSP);
}
