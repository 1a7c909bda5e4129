"use client";
// A confirmation before an action that cannot be undone (submit an exam, delete a
// conversation…): shadcn/ui's AlertDialog pattern on Radix — modal, focus trapped and
// returned to the trigger, Escape cancels, the title and description are announced.
import * as AlertDialog from "@radix-ui/react-alert-dialog";
import { useRef, useState, type ReactNode } from "react";
import { ErrorAlert } from "./ui";

export function ConfirmDialog({
  trigger,
  title,
  description,
  confirmLabel,
  cancelLabel = "Annuler",
  destructive = false,
  onConfirm,
  open,
  onOpenChange,
  onCloseAutoFocus,
}: {
  /** The button that opens it (rendered as is: give it its own label and style). */
  trigger?: ReactNode;
  title: string;
  description: ReactNode;
  confirmLabel: string;
  cancelLabel?: string;
  destructive?: boolean;
  /** May be async: a French message it resolves to is shown and the dialog stays open. */
  onConfirm: () => void | Promise<string | null | void>;
  /** Controlled use (opened by code, e.g. at the end of a countdown). */
  open?: boolean;
  onOpenChange?: (open: boolean) => void;
  /** Where the focus goes on close (default: back to what opened it; preventDefault to choose). */
  onCloseAutoFocus?: (event: Event) => void;
}) {
  const [ownOpen, setOwnOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const isOpen = open ?? ownOpen;
  // What had the focus when it opened: Radix returns the focus to its Trigger, and a
  // dialog opened by code (a form's submit, a list's button) has none.
  const opener = useRef<Element | null>(null);
  const setOpen = (next: boolean) => {
    if (!next) setError(null);
    setOwnOpen(next);
    onOpenChange?.(next);
  };
  return (
    <AlertDialog.Root open={isOpen} onOpenChange={setOpen}>
      {trigger && <AlertDialog.Trigger asChild>{trigger}</AlertDialog.Trigger>}
      <AlertDialog.Portal>
        <AlertDialog.Overlay className="fixed inset-0 z-40 bg-slate-950/50" />
        <AlertDialog.Content
          onOpenAutoFocus={() => {
            opener.current = document.activeElement;
          }}
          onCloseAutoFocus={(e) => {
            onCloseAutoFocus?.(e);
            if (e.defaultPrevented || trigger) return;
            e.preventDefault();
            if (opener.current instanceof HTMLElement && opener.current.isConnected) opener.current.focus();
          }}
          className="fixed left-1/2 top-1/2 z-50 w-[min(28rem,calc(100vw-2rem))] -translate-x-1/2 -translate-y-1/2 rounded-xl border border-slate-200 bg-white p-6 text-slate-900 shadow-xl outline-none dark:border-slate-700 dark:bg-slate-900 dark:text-slate-100">
          <AlertDialog.Title className="text-lg font-semibold">{title}</AlertDialog.Title>
          <AlertDialog.Description asChild>
            <div className="mt-2 text-slate-700 dark:text-slate-300">{description}</div>
          </AlertDialog.Description>
          <div className="mt-3">
            <ErrorAlert message={error} />
          </div>
          <div className="mt-4 flex flex-wrap justify-end gap-2">
            <AlertDialog.Cancel className="rounded-md border border-slate-300 px-4 py-2 font-medium text-slate-800 hover:bg-slate-100 dark:border-slate-600 dark:text-slate-100 dark:hover:bg-slate-800">
              {cancelLabel}
            </AlertDialog.Cancel>
            <AlertDialog.Action
              disabled={busy}
              onClick={async (e) => {
                // Closed here, once the action has succeeded, not by Radix on click.
                e.preventDefault();
                setBusy(true);
                const failed = await onConfirm();
                setBusy(false);
                if (typeof failed === "string" && failed) setError(failed);
                else setOpen(false);
              }}
              className={`rounded-md px-4 py-2 font-medium text-white disabled:opacity-60 ${destructive ? "bg-red-700 hover:bg-red-800" : "bg-accent-700 hover:bg-accent-800"}`}
            >
              {confirmLabel}
            </AlertDialog.Action>
          </div>
        </AlertDialog.Content>
      </AlertDialog.Portal>
    </AlertDialog.Root>
  );
}
