import type { Metadata } from "next";
import { NotificationPreferences } from "./NotificationPreferences";

export const metadata: Metadata = { title: "E-mails et notifications" };

export default function NotificationPreferencesPage() {
  return <NotificationPreferences />;
}
