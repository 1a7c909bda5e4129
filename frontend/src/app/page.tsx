"use client";

import { useEffect } from "react";
import { useRouter } from "next/navigation";
import { homeOf } from "@/lib/api/client";
import { useSession } from "@/components/session";
import { Loading } from "@/components/ui";

export default function Home() {
  const { status, user } = useSession();
  const router = useRouter();
  useEffect(() => {
    if (status === "signed-in") router.replace(homeOf(user?.role));
    if (status === "signed-out") router.replace("/connexion");
  }, [status, user, router]);
  return (
    <>
      <h1 className="sr-only">Nexus Réussite</h1>
      <Loading />
    </>
  );
}
