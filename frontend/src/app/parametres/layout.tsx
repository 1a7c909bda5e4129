import { SettingsNav } from "./SettingsNav";

// The account's settings (the header's "Mon compte"): one sub-navigation for its pages.
export default function SettingsLayout({ children }: { children: React.ReactNode }) {
  return (
    <div className="space-y-6">
      <SettingsNav />
      {children}
    </div>
  );
}
