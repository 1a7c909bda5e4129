// Class names shared by the teacher's assessment views (same look as the class page).
export const secondary =
  "inline-flex items-center justify-center rounded-md border border-slate-300 px-3 py-2 font-medium text-slate-800 hover:bg-slate-100 disabled:cursor-not-allowed disabled:opacity-60 dark:border-slate-600 dark:text-slate-100 dark:hover:bg-slate-800";
export const smallButton = `${secondary} px-2 py-1 text-sm`;
export const inputClass =
  "rounded-md border border-slate-400 bg-white px-3 py-2 text-slate-900 disabled:bg-slate-100 aria-[invalid=true]:border-red-700 dark:border-slate-600 dark:bg-slate-950 dark:text-slate-100 dark:disabled:bg-slate-800";
export const labelClass = "font-medium";
