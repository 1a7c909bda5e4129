import type { Metadata } from "next";
import { Placeholder } from "@/components/Placeholder";

export const metadata: Metadata = { title: "Administration" };

export default function AdminPage() {
  return <Placeholder role="admin" title="Administration" />;
}
