// Files the API produces (grade exports): fetched with the signed-in user's token, then
// handed to the browser as a download under the name the API gives.
import { tokens, errorMessage, GENERIC_ERROR, NETWORK_ERROR } from "@/lib/api/client";

/** `attachment; filename="notes-terminale-nsi.csv"` → `notes-terminale-nsi.csv`. */
export function fileNameOf(disposition: string | null, fallback: string): string {
  const match = disposition?.match(/filename="([^"]+)"/);
  return match?.[1] ?? fallback;
}

/** Downloads `path`; resolves to the API's French error, or null once the file is saved. */
export async function downloadFile(path: string, fallback: string): Promise<string | null> {
  let res: Response;
  try {
    res = await tokens.fetch(new Request(new URL(path, window.location.origin)));
  } catch {
    return NETWORK_ERROR;
  }
  if (!res.ok) {
    const body: unknown = await res.json().catch(() => null);
    return body ? errorMessage(body) : GENERIC_ERROR;
  }
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileNameOf(res.headers.get("content-disposition"), fallback);
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
  return null;
}
