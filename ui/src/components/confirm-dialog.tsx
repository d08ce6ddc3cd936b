import { useEffect, useId, useRef, useState, type ReactNode } from "react"

/** A destructive step the user confirms first: what it does, and the button that does it. */
export type Confirm = {
  title: string
  body: ReactNode
  action: string
  /** The button's label while it runs ("Working…" unless given). */
  working?: string
  run: () => Promise<void>
}

/** The Security page's confirmation dialog (null: closed); it closes once `run` has settled. */
export function ConfirmDialog({
  confirm,
  onClose,
}: {
  confirm: Confirm | null
  onClose: () => void
}) {
  const ref = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  const [pending, setPending] = useState(false)
  useEffect(() => {
    const dialog = ref.current
    if (!dialog) return
    if (confirm && !dialog.open) dialog.showModal()
    if (!confirm && dialog.open) dialog.close()
  }, [confirm])
  return (
    <dialog
      ref={ref}
      className="kg-dialog"
      aria-labelledby={titleId}
      onClose={onClose}
      onCancel={(e) => {
        e.preventDefault()
        if (!pending) onClose()
      }}
    >
      {confirm && (
        <>
          <h2 id={titleId} className="kg-dialog__title">
            {confirm.title}
          </h2>
          <p className="kg-dialog__body">{confirm.body}</p>
          <div className="kg-dialog__actions">
            <button type="button" className="kg-button" onClick={onClose} disabled={pending}>
              Cancel
            </button>
            <button
              type="button"
              className="kg-button kg-button--danger-solid"
              disabled={pending}
              onClick={async () => {
                setPending(true)
                try {
                  await confirm.run()
                } finally {
                  setPending(false)
                  onClose()
                }
              }}
            >
              {pending ? (confirm.working ?? "Working…") : confirm.action}
            </button>
          </div>
        </>
      )}
    </dialog>
  )
}
