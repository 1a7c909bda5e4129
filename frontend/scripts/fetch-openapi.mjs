// Copies the running API's OpenAPI document into openapi.json (then: npm run api:gen).
import { writeFileSync } from "node:fs";

const api = process.env.NEXUS_API_URL ?? "http://127.0.0.1:5000";
const res = await fetch(`${api}/api/openapi.json`);
if (!res.ok) throw new Error(`GET ${api}/api/openapi.json: ${res.status}`);
const doc = await res.json();
writeFileSync(new URL("../openapi.json", import.meta.url), JSON.stringify(doc, null, 2) + "\n");
console.log(`openapi.json updated from ${api}`);
