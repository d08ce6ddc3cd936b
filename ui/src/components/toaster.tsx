import { createContext, useCallback, useContext, useMemo, useRef, useState } from "react"
import type { ReactNode } from "react"

type Tone = "success" | "error" | "info"
type Toast = { id: number; tone: Tone; text: string }
type Notify = (tone: Tone, text: string) => void

const ToastContext = createContext<Notify>(() => {})

/** Short-lived notices in one polite live region, newest last; errors stay until dismissed. */
export function Toaster({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([])
  const next = useRef(1)

  const dismiss = useCallback((id: number) => {
    setToasts((all) => all.filter((t) => t.id !== id))
  }, [])

  const notify = useCallback<Notify>(
    (tone, text) => {
      const id = next.current++
      setToasts((all) => [...all.slice(-2), { id, tone, text }])
      if (tone !== "error") setTimeout(() => dismiss(id), 6000)
    },
    [dismiss],
  )

  const value = useMemo(() => notify, [notify])
  return (
    <ToastContext.Provider value={value}>
      {children}
      <div className="kg-toasts" role="status" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} className={`kg-toast kg-toast--${t.tone}`} data-testid="kg-toast">
            <span className="kg-toast__text">{t.text}</span>
            <button
              type="button"
              className="kg-toast__close"
              aria-label="Dismiss"
              onClick={() => dismiss(t.id)}
            >
              ×
            </button>
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  )
}

export function useToast(): Notify {
  return useContext(ToastContext)
}
