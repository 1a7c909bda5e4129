import { INPUT_CLASS, SECONDARY_BUTTON } from "@/components/ui";

// Class names shared by the teacher's assessment views (same look as the class page).
export const secondary = SECONDARY_BUTTON;
export const smallButton = `${secondary} px-2 py-1 text-sm`;
export const inputClass = `${INPUT_CLASS} disabled:bg-slate-100 dark:disabled:bg-slate-800`;
export const labelClass = "font-medium";
