import type { Metadata } from "next";
import { AccountDeletion } from "./AccountDeletion";

export const metadata: Metadata = { title: "Mon compte" };

export default function AccountPage() {
  return <AccountDeletion />;
}
