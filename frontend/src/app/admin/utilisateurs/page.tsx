import type { Metadata } from "next";
import { AdminUsers } from "./AdminUsers";

export const metadata: Metadata = { title: "Utilisateurs" };

export default function AdminUsersPage() {
  return <AdminUsers />;
}
