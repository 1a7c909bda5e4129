import type { Metadata } from "next";
import { MyData } from "./MyData";

export const metadata: Metadata = { title: "Mes données" };

export default function MyDataPage() {
  return <MyData />;
}
