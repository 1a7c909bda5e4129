"use client";

import { SessionProvider } from "./session";
import { NotificationsProvider } from "./notifications";

export function Providers({ children }: { children: React.ReactNode }) {
  return (
    <SessionProvider>
      <NotificationsProvider>{children}</NotificationsProvider>
    </SessionProvider>
  );
}
